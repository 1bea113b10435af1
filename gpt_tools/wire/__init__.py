"""The wire: one HTTP client, the backends, and the server-side file and vector-store APIs."""
