-- Where a result goes when it does not replace the range (--target enew, split, popup), and the keys
-- of the diff split that offers a result (:GptRun! preview, a conflict):
--   a        take all: what the result changes goes into your buffer (one undo step), the split closes;
--            edits you made elsewhere in the buffer (during the run, or since the split opened) stay
--   d, q     drop it: close the split, nothing applied
--   x, <CR>  take the hunk under the cursor (:diffput), then go to the next one
-- Shown in the split's status line and said when it opens.
local M = {}

-- The span the text new changes in base, found by the lines both share at the ends: base[first+1 ..
-- stop] becomes new[first+1 .. #new - (#base - stop)]. Returns first, stop (0-based, end exclusive).
local function span(base, new)
  local first, tail = 0, 0
  while first < #base and first < #new and base[first + 1] == new[first + 1] do
    first = first + 1
  end
  while tail < #base - first and tail < #new - first and base[#base - tail] == new[#new - tail] do
    tail = tail + 1
  end
  return first, #base - tail
end

local function text(lines)
  return #lines > 0 and table.concat(lines, '\n') .. '\n' or ''
end

-- Three texts: base (the buffer as the result was made for it), new (the result applied to base) and
-- cur (the buffer now). What new changes in base, as a change to cur: start, stop (0-based, end
-- exclusive) and the lines to put there; nil when cur changed where new does (or right there, both
-- adding lines at one place: which goes first is unknown), so taking it would overwrite an edit.
-- The user's edits are the hunks of a line diff of base and cur, so edits above and below both stay.
function M.merge(base, new, cur)
  local first, stop = span(base, new)
  local lines = vim.list_slice(new, first + 1, #new - (#base - stop))
  local shift = 0
  for _, hunk in ipairs(vim.diff(text(base), text(cur), { result_type = 'indices' })) do
    local a, count_a, count_b = hunk[1], hunk[2], hunk[4]
    local from = count_a > 0 and a - 1 or a -- 0-based; an insertion (no base line) goes after line a
    local to = from + count_a
    local same_point = first == stop and from == to and from == first
    if to <= first and not same_point then -- above the result's lines: they moved
      shift = shift + count_b - count_a
    elseif not (stop <= from and not same_point) then -- neither above nor below: on them
      return nil
    end
  end
  return first + shift, stop + shift, lines
end

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

-- Whether a window may open now: 'insert' (the user types: a new window would take their keys),
-- 'busy' (Neovim waits for a key, or the command-line window is open, where no other window may be
-- made or entered: E11), else nil.
function M.blocked()
  local mode = api.nvim_get_mode()
  if mode.mode:match('^[iR]') or mode.mode:match('^ni') then
    return 'insert'
  end
  if mode.blocking or vim.fn.getcmdwintype() ~= '' then
    return 'busy'
  end
  return nil
end
local blocked = M.blocked

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

-- Open a result (lines) at target: 'enew' (a new, unnamed buffer in this window, 'modified' until
-- :w NAME saves it),
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
    -- Left 'modified', as text typed into it would be: :q and :qa then warn (E37, E162) before an
    -- unsaved result (paid for, and nowhere else) is thrown away.
    fill(api.nvim_get_current_buf(), lines, filetype)
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

local bases = {} -- diff split -> the target's text its result was made for (see M.merge)

-- lines with lines[start+1 .. stop] replaced by repl.
local function spliced(lines, start, stop, repl)
  local out = vim.list_slice(lines, 1, start)
  vim.list_extend(out, repl)
  return vim.list_extend(out, vim.list_slice(lines, stop + 1, #lines))
end
M.spliced = spliced

local function say(msg, level)
  require('gpt_tools').notify(msg, level)
end

-- Whether target can take text now; says why not.
local function writable(target)
  if not (api.nvim_buf_is_valid(target) and api.nvim_buf_is_loaded(target)) then
    say('gpt-tools: the buffer is gone; nothing taken', 'ERROR')
    return false
  end
  if not vim.bo[target].modifiable then
    say("gpt-tools: the buffer is not 'modifiable'; nothing taken (:setlocal modifiable, then again)", 'ERROR')
    return false
  end
  return true
end

-- a in the diff split: what the result changes, into the target buffer in one change (one undo step),
-- and nothing else: the user's own edits made since the text the result was made for stay. Then the
-- split closes. If the user edited where the result goes, nothing is taken (x takes hunk by hunk).
local function take_all(buf, target)
  if not writable(target) then
    return
  end
  local new = api.nvim_buf_get_lines(buf, 0, -1, true)
  local cur = api.nvim_buf_get_lines(target, 0, -1, true)
  if vim.deep_equal(cur, new) then -- every hunk taken already (x)
    close(buf, target)
    say('gpt-tools: the buffer already has the whole result', 'INFO')
    return
  end
  local start, stop, lines = M.merge(bases[buf] or cur, new, cur)
  if not start then
    say('gpt-tools: you edited the lines the result changes; nothing taken (x takes a hunk, d drops)', 'ERROR')
    return
  end
  if not vim.deep_equal(vim.list_slice(cur, start + 1, stop), lines) then
    api.nvim_buf_set_lines(target, start, stop, true, lines)
  end
  close(buf, target)
  say('gpt-tools: result taken, u undoes it', 'INFO')
end

-- x / <CR>: the hunk under the cursor into the target buffer, then on to the next hunk. The put is
-- made in the base too, so that a later a does not count it as an edit of the user's.
local function take_hunk(buf, target)
  if not writable(target) then
    return
  end
  local before = api.nvim_buf_get_lines(target, 0, -1, true)
  pcall(vim.cmd, 'diffput')
  local after = api.nvim_buf_get_lines(target, 0, -1, true)
  local base = bases[buf]
  if base then
    local start, stop, lines = M.merge(before, after, base)
    bases[buf] = start and spliced(base, start, stop, lines) or base
  end
  pcall(vim.cmd, 'normal! ]c')
end

-- The keys of a diff split (buf) offering a result for buffer target (nil: it is gone); base: the
-- target's text the split's text was made from (the result applied to it).
function M.diff_keys(buf, target, base)
  local function map(lhs, fn, desc)
    vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, desc = 'gpt-tools result: ' .. desc })
  end
  local function drop()
    close(buf, target)
  end
  map('d', drop, 'drop it (close, nothing applied)')
  map('q', drop, 'drop it (close, nothing applied)')
  if target then
    bases[buf] = base
    api.nvim_create_autocmd('BufWipeout', {
      buffer = buf,
      once = true,
      callback = function()
        bases[buf] = nil
      end,
    })
    local function take_this()
      take_hunk(buf, target)
    end
    map('a', function()
      take_all(buf, target)
    end, 'take all')
    map('x', take_this, 'take this hunk')
    map('<CR>', take_this, 'take this hunk')
  end
  M.hint(buf, target and M.DIFF_KEYS or 'gpt-tools result: d/q close')
end

return M
