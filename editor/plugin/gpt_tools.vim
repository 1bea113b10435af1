" gpt-tools for Vim (and Neovim): :[range]GptFilter {assistant} [gpt-filter options]
" Runs `gpt-filter` over the range (default: the whole buffer) and replaces the range only when it
" succeeds; on failure the text is left alone and the reason is shown with :echoerr.
" In Neovim, the remote plugin's :GptRun does the same without blocking (see editor/README.md).
if exists('g:loaded_gpt_tools')
  finish
endif
let g:loaded_gpt_tools = 1

command! -range=% -nargs=+ -complete=customlist,gpt_tools#complete
      \ GptFilter call gpt_tools#filter(<line1>, <line2>, [<f-args>])
