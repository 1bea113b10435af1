-- The Neovim UI half of gpt-tools: messages, progress, the completion signal and the result split.
-- All logic lives in the Python core (gpt_tools); the remote plugin calls these functions.
local M = {}

local levels = vim.log.levels

-- A message through vim.notify (replaced by nvim-notify, fidget, noice... when installed).
function M.notify(msg, level)
  vim.notify(msg, levels[level] or levels.INFO, { title = 'gpt-tools' })
end

-- Transient progress: never in the message history, never while the user types a command line.
function M.progress(msg)
  vim.g.gpt_tools_status = msg
  if vim.g.gpt_tools_progress == 0 then
    return
  end
  local mode = vim.api.nvim_get_mode()
  if mode.blocking or mode.mode:sub(1, 1) == 'c' then
    return
  end
  vim.api.nvim_echo({ { msg, 'MoreMsg' } }, false, {})
end

-- The end of a run: the message, g:gpt_tools_last, then the User GptToolsDone autocommand.
function M.done(info, msg, level)
  vim.g.gpt_tools_status = ''
  vim.g.gpt_tools_last = info
  M.notify(msg, level)
  if vim.fn.exists('#User#GptToolsDone') == 1 then
    vim.cmd('doautocmd <nomodeline> User GptToolsDone')
  end
end

local function scratch(lines, name, filetype)
  vim.cmd('vertical new')
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  vim.api.nvim_buf_set_lines(buf, 0, -1, true, lines)
  pcall(vim.api.nvim_buf_set_name, buf, name)
  if filetype and filetype ~= '' then
    vim.bo[buf].filetype = filetype
  end
  return buf
end

-- Show a proposed text without touching the user's buffer: a scratch split, in diff mode against
-- bufnr when it still exists (then :diffget / do take hunks). The cursor returns where it was.
function M.offer(bufnr, lines, name)
  local back = vim.api.nvim_get_current_win()
  local target = vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_buf_is_loaded(bufnr)
  if target then
    local win = vim.fn.bufwinid(bufnr)
    if win == -1 then
      vim.cmd('split')
      vim.api.nvim_win_set_buf(0, bufnr)
    else
      vim.api.nvim_set_current_win(win)
    end
    local target_win = vim.api.nvim_get_current_win()
    scratch(lines, name, vim.bo[bufnr].filetype)
    vim.cmd('diffthis')
    vim.api.nvim_win_call(target_win, function()
      vim.cmd('diffthis')
    end)
  else
    scratch(lines, name, nil)
  end
  if vim.api.nvim_win_is_valid(back) then
    vim.api.nvim_set_current_win(back)
  end
end

return M
