-- Where a result goes when it does not replace the range (--target enew, split, popup), and the keys
-- of the diff split that offers a result (:GptRun! preview, a conflict):
--   a        take all: your buffer becomes the split's text (one undo step), the split closes
--   d, q     drop it: close the split, nothing applied
--   x, <CR>  take the hunk under the cursor (:diffput), then go to the next one
-- Shown in the split's status line and said when it opens.
local M = {}

local api = vim.api

M.DIFF_KEYS = 'gpt-tools result: a take all  d/q drop  x/<CR> take this hunk  ]c/[c next/previous'

local ns = api.nvim_create_namespace('gpt_tools_keys')

-- The keys of a window, shown in it: its status line, and at the right of its first line (for
-- 'laststatus' 3, where windows show no status line of their own). Virtual text adds no line, so a
-- diff stays aligned.
function M.hint(buf, text)
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    vim.wo[win].statusline = text
  end
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  if api.nvim_buf_line_count(buf) > 0 then
    api.nvim_buf_set_extmark(buf, ns, 0, 0, { virt_text = { { text, 'Comment' } }, virt_text_pos = 'right_align' })
  end
end

local function blocked()
  local mode = api.nvim_get_mode()
  if mode.mode:match('^[iR]') or mode.mode:match('^ni') then
    return 'insert'
  end
  if mode.blocking then
    return 'busy'
  end
  return nil
end

local function fill(buf, lines, filetype)
  api.nvim_buf_set_lines(buf, 0, -1, true, lines)
  if filetype and filetype ~= '' then
    vim.bo[buf].filetype = filetype
  end
end

local function scratch_options(buf, name)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  pcall(api.nvim_buf_set_name, buf, name)
end

local function popup(lines, name, filetype)
  local buf = api.nvim_create_buf(false, true)
  scratch_options(buf, name)
  fill(buf, lines, filetype)
  local width = math.min(math.max(40, math.floor(vim.o.columns * 0.7)), vim.o.columns - 4)
  local height = math.min(math.max(#lines, 3), math.max(vim.o.lines - 6, 3))
  local win = api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.floor((vim.o.lines - height) / 2) - 1,
    col = math.floor((vim.o.columns - width) / 2),
    border = 'rounded',
    style = 'minimal',
  })
  vim.wo[win].wrap = true
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'gpt-tools: close the result' })
  return buf
end

-- Open a result (lines) at target: 'enew' (a new, unnamed buffer in this window: :w NAME saves it),
-- 'split' (a scratch split below) or 'popup' (a floating window; q closes it). Returns 'shown', or
-- 'insert' / 'busy' when it must wait (the user types: a new window now would take their keys).
function M.show(target, lines, name, filetype)
  local state = blocked()
  if state then
    return state
  end
  if target == 'popup' then
    popup(lines, name, filetype)
    return 'shown'
  end
  if target == 'enew' then
    local ok = pcall(vim.cmd, 'enew')
    if not ok then -- the buffer here has changes and 'hidden' is off: a new window instead
      vim.cmd('new')
    end
    fill(api.nvim_get_current_buf(), lines, filetype)
    vim.bo.modified = false
    return 'shown'
  end
  vim.cmd('belowright new')
  local buf = api.nvim_get_current_buf()
  scratch_options(buf, name)
  fill(buf, lines, filetype)
  vim.keymap.set('n', 'q', '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'gpt-tools: close the result' })
  return 'shown'
end

-- Close the diff split; the target's windows leave diff mode with it.
local function close(buf, target)
  if target and api.nvim_buf_is_valid(target) then
    for _, win in ipairs(vim.fn.win_findbuf(target)) do
      api.nvim_win_call(win, function()
        vim.cmd('diffoff')
      end)
    end
  end
  if api.nvim_buf_is_valid(buf) then
    vim.cmd('bwipeout ' .. buf)
  end
end

-- a in the diff split: the target buffer becomes the split's text, in one change (one undo step);
-- lines both share at the ends are left alone. Then the split closes.
local function take_all(buf, target)
  if not (api.nvim_buf_is_valid(target) and api.nvim_buf_is_loaded(target)) then
    require('gpt_tools').notify('gpt-tools: the buffer is gone; nothing taken', 'ERROR')
    return
  end
  local new = api.nvim_buf_get_lines(buf, 0, -1, true)
  local old = api.nvim_buf_get_lines(target, 0, -1, true)
  local first, tail = 0, 0
  while first < #old and first < #new and old[first + 1] == new[first + 1] do
    first = first + 1
  end
  while tail < #old - first and tail < #new - first and old[#old - tail] == new[#new - tail] do
    tail = tail + 1
  end
  if first < #old - tail or first < #new - tail then
    api.nvim_buf_set_lines(target, first, #old - tail, true, vim.list_slice(new, first + 1, #new - tail))
  end
  close(buf, target)
  require('gpt_tools').notify('gpt-tools: result taken, u undoes it', 'INFO')
end

-- x / <CR>: the hunk under the cursor into the target buffer, then on to the next hunk.
local function take_hunk()
  pcall(vim.cmd, 'diffput')
  pcall(vim.cmd, 'normal! ]c')
end

-- The keys of a diff split (buf) offering a result for buffer target (nil: it is gone).
function M.diff_keys(buf, target)
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, desc = 'gpt-tools result: ' .. desc })
  end
  local function drop()
    close(buf, target)
  end
  map('d', drop, 'drop it (close, nothing applied)')
  map('q', drop, 'drop it (close, nothing applied)')
  if target then
    map('a', function()
      take_all(buf, target)
    end, 'take all')
    map('x', take_hunk, 'take this hunk')
    map('<CR>', take_hunk, 'take this hunk')
  end
  M.hint(buf, target and M.DIFF_KEYS or 'gpt-tools result: d/q close')
end

return M
