-- :checkhealth gpt_tools (Neovim 0.7 through 0.10+): host, remote plugin, core, config and trust, key,
-- endpoint, for the project of the buffer you were in (not Neovim's working folder). Every check is
-- reported, also after one failed; a failed one says the exact commands that fix it on this machine.
-- Paths go in backticks: the health buffer is Markdown, where `__init__` would turn bold.
local M = {}

local health = vim.health or require('health')
local report = {
  start = health.start or health.report_start,
  ok = health.ok or health.report_ok,
  info = health.info or health.report_info,
  warn = health.warn or health.report_warn,
  error = health.error or health.report_error,
}

local install = require('gpt_tools.install')
local code = install.code

-- The folder of the buffer the user was in when :checkhealth opened its own tab.
local function buffer_folder()
  local tab = vim.fn.tabpagenr('#')
  local buf = -1
  if tab > 0 then
    buf = vim.fn.tabpagebuflist(tab)[vim.fn.tabpagewinnr(tab)]
  end
  if buf == -1 or buf == nil then
    buf = vim.fn.bufnr('#')
  end
  local name = buf > 0 and vim.api.nvim_buf_get_name(buf) or ''
  local folder = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or ''
  if folder == '' or vim.fn.isdirectory(folder) == 0 then
    return vim.fn.getcwd()
  end
  return folder
end

local function host_checks()
  local python, how = install.host_python()
  if not install.has_pynvim(python) then
    local what = python and ('no pynvim in ' .. code(python) .. ' (' .. how .. ')') or 'no Python 3 found for Neovim'
    report.error('no Python 3 host with pynvim: ' .. what, install.commands(python))
    return false
  end
  report.ok('Python 3 host with pynvim: ' .. code(python) .. ' (' .. how .. ')')
  return true
end

local function plugin_checks()
  if not install.registered('GptRun') then
    report.error('the remote plugin is not registered', { 'run :UpdateRemotePlugins, then restart Neovim' })
    return false
  end
  report.ok('remote plugin registered (:GptRun, :GptChat, :GptList, :GptCancel)')
  for _, name in ipairs({ 'GptChatAdd', 'GptTrust' }) do
    if not install.registered(name) then
      report.warn(':' .. name .. ' is not registered (a manifest from an older version)', { 'run :UpdateRemotePlugins' })
    end
  end
  return true
end

function M.check()
  report.start('gpt-tools')
  local folder = buffer_folder()
  report.info('checking the project of ' .. code(folder))
  local host = host_checks()
  local plugin = plugin_checks()
  if not (host and plugin) then
    report.warn('config, assistants, key and endpoints not checked: they need the Python host and the plugin')
    return
  end
  local ok, items = pcall(vim.fn.GptToolsHealth, folder)
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
