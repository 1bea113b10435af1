-- :checkhealth gpt_tools (Neovim 0.7 through 0.10+): host, remote plugin, core, config, key, endpoint.
local M = {}

local health = vim.health or require('health')
local report = {
  start = health.start or health.report_start,
  ok = health.ok or health.report_ok,
  info = health.info or health.report_info,
  warn = health.warn or health.report_warn,
  error = health.error or health.report_error,
}

function M.check()
  report.start('gpt-tools')
  if vim.fn.has('python3') == 0 then
    report.error('no Python 3 host with pynvim', {
      'pip install pynvim gpt-tools into a virtualenv and set g:python3_host_prog to its python',
      'see :checkhealth provider',
    })
    return
  end
  local host = vim.g.python3_host_prog or vim.fn.exepath('python3')
  report.ok('Python 3 host with pynvim: ' .. host)
  if vim.fn.exists(':GptRun') ~= 2 then
    report.error('the remote plugin is not registered', { 'run :UpdateRemotePlugins, then restart Neovim' })
    return
  end
  report.ok('remote plugin registered (:GptRun, :GptList, :GptCancel)')
  if vim.fn.exists(':GptChat') ~= 2 then
    report.warn(':GptChat is not registered (a manifest from an older version)', { 'run :UpdateRemotePlugins' })
  end
  local ok, items = pcall(vim.fn.GptToolsHealth, vim.fn.getcwd())
  if not ok then
    report.error('the remote plugin failed to answer: ' .. tostring(items), { 'see :messages' })
    return
  end
  for _, item in ipairs(items) do
    local level, msg, advice = item[1], item[2], item[3]
    if advice then
      report[level](msg, { advice })
    else
      report[level](msg)
    end
  end
end

return M
