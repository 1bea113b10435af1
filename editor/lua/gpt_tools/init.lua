-- The Neovim UI half of gpt-tools: messages, progress, the completion signal and the result split.
-- All logic lives in the Python core (gpt_tools); the remote plugin calls these functions.
local M = {}

local levels = vim.log.levels

local highlights = { ERROR = 'ErrorMsg', WARN = 'WarningMsg' }

-- Neovim's own vim.notify shows errors with nvim_err_writeln, after which the editor pauses for a
-- second so the error can be read: a stall in the middle of the user's typing. So when vim.notify is
-- still the built-in one, echo with the same highlight instead (also kept in :messages).
local function builtin_notify()
  local info = debug.getinfo(vim.notify, 'S')
  return info ~= nil and info.source:match('vim/_editor%.lua$') ~= nil
end

-- One line that fits the command line: a longer message would stop the user at a hit-enter prompt.
-- more: the message has more than this line (said by a trailing ':messages').
local function fit(msg, more)
  msg = msg:gsub('%s+', ' ')
  local room = math.max(vim.v.echospace, 20)
  local tail = more and ' (:messages)' or ''
  if vim.fn.strdisplaywidth(msg .. tail) <= room then
    return msg .. tail
  end
  tail = ' (:messages)'
  local cut = vim.fn.strcharpart(msg, 0, room - 1 - #tail)
  while vim.fn.strdisplaywidth(cut) > room - 1 - #tail do
    cut = vim.fn.strcharpart(cut, 0, vim.fn.strchars(cut) - 1)
  end
  return cut .. '…' .. tail
end

-- Lines in the message history (:messages) in full, without showing them: echoed, a line wider than
-- the screen would stop the user at a hit-enter prompt. :echomsg inside execute() is captured, not
-- shown, and still goes to the history.
local function keep(lines, level)
  for _, line in ipairs(lines) do
    local flat = line:gsub('[\r\n]', ' ')
    vim.fn.execute({ 'echohl ' .. (highlights[level] or 'None'), 'echomsg ' .. vim.fn.string(flat), 'echohl None' }, '')
  end
end

-- A message's first line is what the screen shows (the fix first, when there is one); every line of
-- it goes to the message history in full.
local function notify(msg, level)
  if builtin_notify() then
    local lines = vim.split(msg, '\n', { plain = true })
    keep(lines, level)
    local shown = fit(lines[1], #lines > 1)
    vim.api.nvim_echo({ { shown, highlights[level] or 'None' } }, false, {})
  else
    vim.notify(msg, levels[level] or levels.INFO, { title = 'gpt-tools' })
  end
end

-- A message through vim.notify (replaced by nvim-notify, fidget, noice... when installed). Scheduled:
-- called inside a command run through the API, an error message would become that call's exception.
function M.notify(msg, level)
  vim.schedule(function()
    notify(msg, level)
  end)
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
  vim.api.nvim_echo({ { fit(msg), 'MoreMsg' } }, false, {})
end

-- The end of a run: the message, then g:gpt_tools_last, then the User GptToolsDone autocommand, in
-- that order, so whoever waits on the signal finds the message already shown.
function M.done(info, msg, level)
  vim.schedule(function()
    vim.g.gpt_tools_status = ''
    notify(msg, level)
    vim.g.gpt_tools_last = info
    if vim.fn.exists('#User#GptToolsDone') == 1 then
      vim.cmd('doautocmd <nomodeline> User GptToolsDone')
    end
  end)
end

-- Apply a run's result as one change of its own, if that is safe right now. Checking the mode and
-- changedtick and changing the buffer in one call leaves no gap for a key typed in between.
--   'insert'  the user is in Insert or Replace mode (also after i_CTRL-O): a change now would join
--             the undo step of their typing, so one u would revert both. Nothing done.
--   'busy'    Neovim waits for a key (a pending operator, a prompt). Nothing done.
--   'changed' b:changedtick is no longer tick. Nothing done.
--   'applied' lines [first, last) of bufnr replaced by lines.
local function blocked(bufnr, tick)
  local mode = vim.api.nvim_get_mode()
  if mode.mode:match('^[iR]') or mode.mode:match('^ni') then
    return 'insert'
  end
  if mode.blocking then
    return 'busy'
  end
  if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
    return 'changed'
  end
  return nil
end

function M.apply(bufnr, tick, first, last, lines)
  local state = blocked(bufnr, tick)
  if state then
    return state
  end
  vim.api.nvim_buf_set_lines(bufnr, first, last, true, lines)
  return 'applied'
end

-- An edits-mode result's changes (rows relative to line first, byte columns), made last to first so
-- that every position still holds, all in this one call: one undo step, and the cursor, marks and
-- folds on the lines no edit touches stay where they are.
local function set_texts(bufnr, first, changes)
  for i = #changes, 1, -1 do
    local c = changes[i]
    vim.api.nvim_buf_set_text(bufnr, first + c.start_row, c.start_col, first + c.end_row, c.end_col, c.lines)
  end
end

-- Like M.apply, for changes (in document order): the same states.
function M.apply_edits(bufnr, tick, first, changes)
  local state = blocked(bufnr, tick)
  if state then
    return state
  end
  set_texts(bufnr, first, changes)
  return 'applied'
end

-- Lines in the message history (:messages) in full, without showing them. Scheduled like M.done, so
-- they come before its summary.
function M.history(lines, level)
  vim.schedule(function()
    keep(lines, level)
  end)
end

-- Hold a result back until the user leaves Insert mode: a one-shot InsertLeave autocommand hands
-- run id back to the remote plugin (GptToolsResume, a notification), which takes the apply path
-- again. Returns the autocommand's id (for M.forget), or nil when GptToolsResume is not registered
-- (a manifest written by an older version: :UpdateRemotePlugins).
function M.defer(id)
  -- A remote function is defined on its first call (FuncUndefined), so exists('*...') alone is not it.
  if vim.fn.exists('*GptToolsResume') == 0 and vim.fn.exists('#FuncUndefined#GptToolsResume') == 0 then
    return nil
  end
  return vim.api.nvim_create_autocmd('InsertLeave', {
    group = vim.api.nvim_create_augroup('gpt_tools_deferred', { clear = false }),
    once = true,
    desc = 'gpt-tools: apply the result of run ' .. id,
    callback = function()
      vim.fn.GptToolsResume(id)
    end,
  })
end

-- Drop a held-back result's autocommand (:GptCancel); a no-op when it has already run.
function M.forget(autocmd)
  pcall(vim.api.nvim_del_autocmd, autocmd)
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

-- The text to offer for bufnr: lines (the result applied to base, the text the run started from)
-- made on the buffer as it is now, so that edits the user made meanwhile away from the result's lines
-- are not shown (nor taken) as part of it; and the text it is now relative to.
local function proposal(bufnr, lines, base)
  local cur = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
  local result = require('gpt_tools.result')
  local start, stop, repl = result.merge(base or cur, lines, cur)
  if start then
    return result.spliced(cur, start, stop, repl), cur
  end
  return lines, base -- the user edited the result's lines too: shown against the text it was made for
end

-- Show a proposed text without touching the user's buffer: a scratch split, in diff mode against
-- bufnr when it still exists, with keys to take all of it, drop it, or take hunk by hunk
-- (editor/lua/gpt_tools/result.lua). The cursor returns where it was. base: the text of bufnr the
-- proposal was made from (the run's start).
-- Returns 'shown', or 'busy' when no window can open now (the command-line window: nothing done).
function M.offer(bufnr, lines, name, base)
  if vim.fn.getcmdwintype() ~= '' then
    return 'busy'
  end
  local back = vim.api.nvim_get_current_win()
  local target = vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_buf_is_loaded(bufnr)
  if target then
    lines, base = proposal(bufnr, lines, base)
    local win = vim.fn.bufwinid(bufnr)
    if win == -1 then
      vim.cmd('split')
      vim.api.nvim_win_set_buf(0, bufnr)
    else
      vim.api.nvim_set_current_win(win)
    end
    local target_win = vim.api.nvim_get_current_win()
    local buf = scratch(lines, name, vim.bo[bufnr].filetype)
    vim.cmd('diffthis')
    vim.api.nvim_win_call(target_win, function()
      vim.cmd('diffthis')
    end)
    require('gpt_tools.result').diff_keys(buf, bufnr, base)
  else
    require('gpt_tools.result').diff_keys(scratch(lines, name, nil), nil)
  end
  if vim.api.nvim_win_is_valid(back) then
    vim.api.nvim_set_current_win(back)
  end
  return 'shown'
end

M.set_texts = set_texts

-- --target enew, split or popup (editor/lua/gpt_tools/result.lua).
function M.show(...)
  return require('gpt_tools.result').show(...)
end

-- :GptRun! of an edits-mode assistant: the review list (editor/lua/gpt_tools/review.lua).
function M.review(...)
  return require('gpt_tools.review').open(...)
end

return M
