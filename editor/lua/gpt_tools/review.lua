-- :GptRun! with an edits-mode assistant: the proposed edits in a review list, one line each, where the
-- user takes or drops them before anything touches the buffer.
--   a        take all          d     drop all
--   x, <CR>  take/drop the edit under the cursor
--   :w       apply the taken edits to the buffer (one undo step), then close the list
--   q        close the list, nothing applied
-- The taken edits apply only if the buffer is unchanged since the run started (its changedtick), the
-- rule :GptRun applies; otherwise nothing is changed and the list stays open.
local M = {}

local KEYS = 'gpt-tools edits: x/<CR> take/drop  a all  d none  :w apply  q close'
local reviews = {} -- review buffer -> { target, tick, first, changes, taken, title }

local function render(buf)
  local r = reviews[buf]
  local lines = {}
  for i, c in ipairs(r.changes) do
    lines[i] = (r.taken[i] and '[x] ' or '[ ] ') .. c.label
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, true, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  require('gpt_tools.result').hint(buf, KEYS)
end

local function set_all(buf, value)
  local r = reviews[buf]
  for i = 1, #r.changes do
    r.taken[i] = value
  end
  render(buf)
end

local function toggle(buf)
  local r = reviews[buf]
  local row = vim.api.nvim_win_get_cursor(0)[1]
  if r.changes[row] then
    r.taken[row] = not r.taken[row]
    render(buf)
    vim.api.nvim_win_set_cursor(0, { math.min(row + 1, #r.changes), 0 })
  end
end

-- Said like the end of a run: the message, g:gpt_tools_last, then User GptToolsDone.
local function say(r, status, msg, level)
  require('gpt_tools').done({ status = status, buffer = r.target, message = msg, seconds = 0 }, msg, level)
end

-- :w in the review list.
local function apply(buf)
  local r = reviews[buf]
  local target = r.target
  if not (vim.api.nvim_buf_is_valid(target) and vim.api.nvim_buf_is_loaded(target)) then
    say(r, 'error', r.title .. ': the buffer is gone; nothing applied', 'ERROR')
    return
  end
  if not vim.bo[target].modifiable then
    say(r, 'error', r.title .. ": the buffer is not 'modifiable'; nothing applied (:setlocal modifiable, then :w)", 'ERROR')
    return
  end
  if vim.api.nvim_buf_get_changedtick(target) ~= r.tick then
    local msg = r.title .. ': the buffer changed since the run started; nothing applied (run :GptRun! again)'
    say(r, 'conflict', msg, 'ERROR')
    return
  end
  local chosen = {}
  for i, c in ipairs(r.changes) do
    if r.taken[i] then
      chosen[#chosen + 1] = c
    end
  end
  if #chosen > 0 then
    require('gpt_tools').set_texts(target, r.first, chosen)
  end
  local undo = #chosen > 0 and ', u undoes' or ''
  say(r, 'ok', string.format('%s: %d of %d edit(s) applied%s', r.title, #chosen, #r.changes, undo), 'INFO')
  vim.bo[buf].modified = false
  vim.schedule(function() -- not from inside this buffer's own BufWriteCmd
    if vim.api.nvim_buf_is_valid(buf) then
      vim.cmd('bwipeout ' .. buf)
    end
  end)
end

-- Open the review list for bufnr (changedtick tick, range from 0-based line first) below the
-- current window; changes in document order, each with its label. Returns the list's buffer, or
-- 'busy' when no window can open now (the command-line window: nothing done).
function M.open(bufnr, tick, first, changes, name, title)
  if vim.fn.getcmdwintype() ~= '' then
    return 'busy'
  end
  vim.cmd('belowright new')
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'acwrite'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, name)
  local taken = {}
  for i = 1, #changes do
    taken[i] = true
  end
  reviews[buf] = { target = bufnr, tick = tick, first = first, changes = changes, taken = taken, title = title }
  render(buf)
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, function()
      fn(buf)
    end, { buffer = buf, nowait = true, desc = 'gpt-tools review: ' .. desc })
  end
  map('a', function(b) set_all(b, true) end, 'take all')
  map('d', function(b) set_all(b, false) end, 'drop all')
  map('x', toggle, 'take/drop this edit')
  map('<CR>', toggle, 'take/drop this edit')
  map('q', function(b) vim.cmd('bwipeout ' .. b) end, 'close, nothing applied')
  local group = vim.api.nvim_create_augroup('gpt_tools_review_' .. buf, { clear = true })
  vim.api.nvim_create_autocmd('BufWriteCmd', { group = group, buffer = buf, callback = function() apply(buf) end })
  vim.api.nvim_create_autocmd('BufWipeout', {
    group = group,
    buffer = buf,
    callback = function()
      reviews[buf] = nil
    end,
  })
  vim.wo.winfixheight = true
  require('gpt_tools.result').hint(buf, KEYS)
  vim.api.nvim_win_set_height(0, math.min(math.max(#changes, 3), 15))
  return buf
end

return M
