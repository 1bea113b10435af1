-- Installing gpt-tools for Neovim: which Python runs remote plugins here, whether it has pynvim, and
-- the exact commands that install the checkout (with its `nvim` extra) into it (:GptToolsInstall,
-- :checkhealth gpt_tools). Until the remote plugin is registered, its commands are stand-ins that say
-- so (editor/plugin/gpt_tools_nvim.lua), instead of "E492: Not an editor command".
local M = {}

local REMOTE = { 'GptRun', 'GptCancel', 'GptList', 'GptTrust' }
local stand_ins = {} -- the commands defined here, because the remote plugin did not define them

-- Commands defined here that call a remote function: they need the range count, which a remote
-- command cannot get (Neovim's bootstrap fixes `<range>` at the first call; see gpt_tools_nvim).
local VIA_FUNCTION = { GptChat = 'GptToolsChatCommand', GptChatAdd = 'GptToolsChatAddCommand' }

-- Whether remote function name is registered (a remote function is defined on its first call,
-- through FuncUndefined, so exists('*...') alone is not it).
local function has_function(name)
  return vim.fn.exists('*' .. name) == 1 or vim.fn.exists('#FuncUndefined#' .. name) == 1
end

local function not_registered(name)
  local msg = ':' .. name .. ' needs the remote plugin, which is not registered: :GptToolsInstall says how'
  vim.api.nvim_echo({ { 'gpt-tools: ' .. msg, 'ErrorMsg' } }, true, {})
end

-- :GptChat and :GptChatAdd (defined again once Neovim has started, over any older manifest's).
function M.chat_commands()
  local function define(name, complete, bang)
    vim.api.nvim_create_user_command(name, function(o)
      local fn = VIA_FUNCTION[name]
      if not has_function(fn) then
        return not_registered(name)
      end
      local args = { o.args, o.line1, o.line2, o.range }
      if bang then
        args[#args + 1] = o.bang
      end
      vim.fn[fn](unpack(args))
    end, { nargs = '?', range = true, bang = bang, complete = complete, desc = 'gpt-tools: ' .. name })
  end
  define('GptChat', 'customlist,GptToolsCompleteWriters', true)
  define('GptChatAdd', 'file', false)
end

-- The checkout this file belongs to: editor/lua/gpt_tools/install.lua -> four folders up.
local function checkout()
  local source = debug.getinfo(1, 'S').source:gsub('^@', '')
  return vim.fn.fnamemodify(source, ':p:h:h:h:h')
end

function M.code(text)
  return '`' .. tostring(text):gsub('`', "'") .. '`'
end

-- The Python Neovim runs remote plugins with: g:python3_host_prog, else the one the provider finds.
function M.host_python()
  local set = vim.g.python3_host_prog
  if set and set ~= '' then
    return vim.fn.expand(set), 'g:python3_host_prog'
  end
  local ok, found = pcall(vim.fn['provider#python3#Prog'])
  if ok and found and found ~= '' then
    return found, 'found on $PATH'
  end
  return nil, nil
end

-- The commands that install gpt-tools with pynvim (the `nvim` extra) into python, from the checkout.
function M.commands(python)
  local root = checkout()
  local target = vim.fn.filereadable(root .. '/pyproject.toml') == 1 and root .. '[nvim]' or '/path/to/gpt-tools[nvim]'
  local commands = {}
  local set_host = nil
  if not python then -- no Python for Neovim yet: a virtualenv of its own
    local venv = vim.fn.stdpath('data') .. '/gpt-tools-venv'
    python = venv .. '/bin/python'
    commands[#commands + 1] = 'python3 -m venv ' .. vim.fn.shellescape(venv)
    -- %q: a Lua string literal (vim.fn.string's '' for a quote is Vim script, a syntax error in Lua)
    set_host = 'then in your init.lua: vim.g.python3_host_prog = ' .. string.format('%q', python)
  end
  commands[#commands + 1] = vim.fn.shellescape(python) .. ' -m pip install ' .. vim.fn.shellescape(target)
  commands[#commands + 1] = set_host
  commands[#commands + 1] = 'then in Neovim: :UpdateRemotePlugins, and restart Neovim'
  return commands
end

-- has('python3') is true in Neovim 0.7 as soon as g:python3_host_prog is set, pynvim or not: ask it.
function M.has_pynvim(python)
  if vim.fn.has('python3') == 0 or not python or vim.fn.executable(python) == 0 then
    return false
  end
  vim.fn.system({ python, '-c', 'import pynvim' })
  return vim.v.shell_error == 0
end

-- Whether the remote plugin defined command name (a stand-in of ours does not count).
function M.registered(name)
  if VIA_FUNCTION[name] then
    return has_function(VIA_FUNCTION[name])
  end
  return vim.fn.exists(':' .. name) == 2 and not stand_ins[name]
end

-- Stand-ins for the remote plugin's commands it did not define (called once Neovim has started, after
-- the manifest was read).
function M.stand_ins()
  for _, name in ipairs(REMOTE) do
    if vim.fn.exists(':' .. name) ~= 2 then
      stand_ins[name] = true
      vim.api.nvim_create_user_command(name, function()
        not_registered(name)
      end, { nargs = '*', range = true, bang = true, desc = 'gpt-tools: not installed yet (:GptToolsInstall)' })
    end
  end
end

-- :GptToolsInstall: what is missing here, and the commands that fix it, into the message history.
function M.install()
  local python, how = M.host_python()
  local lines = { 'gpt-tools for Neovim:' }
  local todo = {}
  if not M.has_pynvim(python) then
    lines[#lines + 1] = python and ('  the Python host ' .. python .. ' (' .. how .. ') has no pynvim')
      or '  no Python 3 found for Neovim'
    todo = M.commands(python)
  elseif not M.registered('GptRun') then
    lines[#lines + 1] = '  the Python host ' .. python .. ' (' .. how .. ') has pynvim; the plugin is not registered'
    todo = { 'in Neovim: :UpdateRemotePlugins, and restart Neovim' }
  else
    lines[#lines + 1] = '  installed (Python host ' .. python .. '); :checkhealth gpt_tools checks the rest'
  end
  if #todo > 0 then
    lines[#lines + 1] = '  run:'
    for _, command in ipairs(todo) do
      lines[#lines + 1] = '    ' .. command
    end
  end
  vim.api.nvim_echo({ { table.concat(lines, '\n') } }, true, {})
end

return M
