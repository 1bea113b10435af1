-- The chat buffer of :GptChat: its layout, the prompt area and the streamed reply. Editor plumbing
-- only: the conversation lives in the Python core; the remote plugin (gpt_tools_nvim/chat.py) calls
-- these functions on Neovim's main loop.
--
-- Three extmarks per chat buffer: PROMPT at the start of the area where the user writes the next
-- message (left gravity: text typed at its very start belongs to the message), START and STOP
-- around the reply being streamed (STOP is moved to the end of each append).
--
-- Undo. Every change made through the API is an undo step of its own, so a reply streamed in 200
-- appends would take 200 `u` to remove. A write of the plugin that follows its previous write in
-- that buffer with no change of the user's in between is therefore joined to it with :undojoin: a
-- whole turn (headings, reply, the new prompt) is one undo step, and the user's own edits stay
-- steps of their own. Nothing is written while the user is in Insert or Replace mode in the chat
-- buffer, since that write would join the undo step of their typing (one `u` would revert both):
-- the write is held back ('insert') and the remote plugin is called again on InsertLeave.
local M = {}

local api = vim.api
local ns = api.nvim_create_namespace('gpt_tools_chat')
local PROMPT, START, STOP = 1, 2, 3
local armed = {} -- chat buffers with a held-back write waiting for InsertLeave

local function get(buf, id)
  local at = api.nvim_buf_get_extmark_by_id(buf, ns, id, {})
  return at[1], at[2]
end

local function put(buf, id, row, col, right)
  api.nvim_buf_set_extmark(buf, ns, row, col, { id = id, right_gravity = right })
end

local function prompt_row(buf)
  return get(buf, PROMPT) or math.max(api.nvim_buf_line_count(buf) - 1, 0)
end

-- None from the remote plugin arrives as vim.NIL.
local function given(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

local function blank(lines)
  for _, line in ipairs(lines) do
    if not line:match('^%s*$') then
      return false
    end
  end
  return true
end

-- Why a write must wait, or nil when it can be made now: 'busy' (Neovim waits for a key: a pending
-- operator, a prompt) or 'insert' (the user types in this buffer; InsertLeave calls the plugin back).
local function blocked(buf)
  local mode = api.nvim_get_mode()
  if mode.blocking then
    return 'busy'
  end
  if api.nvim_get_current_buf() ~= buf or not (mode.mode:match('^[iR]') or mode.mode:match('^ni')) then
    return nil
  end
  if not armed[buf] then
    armed[buf] = true
    api.nvim_create_autocmd('InsertLeave', {
      group = api.nvim_create_augroup('gpt_tools_chat', { clear = false }),
      once = true,
      desc = 'gpt-tools: show the chat reply held back during Insert mode',
      callback = function()
        armed[buf] = nil
        vim.fn.GptToolsChatFlush(buf)
      end,
    })
  end
  return 'insert'
end

-- Make change() in buf, joined to the plugin's previous write when the user changed nothing since.
local function write(buf, change)
  api.nvim_buf_call(buf, function()
    if vim.b[buf].gpt_tools_chat_tick == api.nvim_buf_get_changedtick(buf) then
      pcall(vim.cmd, 'undojoin') -- E790 right after an undo: then it is a step of its own
    end
    change()
  end)
  vim.b[buf].gpt_tools_chat_tick = api.nvim_buf_get_changedtick(buf)
end

local function focus(buf, row)
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    api.nvim_win_set_cursor(win, { row + 1, 0 })
  end
end

-- A new chat buffer in a split, showing lines (a header, the history, an empty prompt line last).
-- An unloaded buffer left with the same name (after :bdelete) is wiped first.
function M.open(name, lines)
  for _, old in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_get_name(old) == name and not api.nvim_buf_is_loaded(old) then
      pcall(api.nvim_buf_delete, old, { force = true })
    end
  end
  vim.cmd('vertical botright new')
  local buf = api.nvim_get_current_buf()
  local bo = vim.bo[buf]
  bo.buftype, bo.bufhidden, bo.swapfile = 'nofile', 'hide', false
  pcall(api.nvim_buf_set_name, buf, name)
  bo.undolevels = -1 -- the transcript shown on opening is no undo step: `u` cannot empty the chat
  api.nvim_buf_set_lines(buf, 0, -1, true, lines)
  bo.undolevels = -123456 -- the global value again
  bo.filetype = 'markdown'
  put(buf, PROMPT, #lines - 1, 0, false)
  vim.keymap.set('n', '<CR>', '<Cmd>call GptToolsChatSend()<CR>', {
    buffer = buf,
    desc = 'gpt-tools: send the message written below the last reply',
  })
  api.nvim_create_autocmd('BufUnload', {
    buffer = buf,
    once = true,
    desc = 'gpt-tools: forget this chat (a reply in flight is cancelled)',
    callback = function()
      vim.fn.GptToolsChatClosed(buf)
    end,
  })
  focus(buf, #lines - 1)
  return buf
end

-- Go to chat buffer buf: its window if it has one, else a new split.
function M.show(buf)
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    api.nvim_set_current_win(win)
  else
    vim.cmd('vertical botright sbuffer ' .. buf)
  end
end

-- The message written since the last reply (blank lines around it dropped), or nil when there is
-- none. The message is then marked with the `you` heading, followed by the reply's heading, an
-- empty reply line (START, STOP) and a fresh prompt line (PROMPT), where the cursor goes.
function M.send(buf, you, heading)
  local first = prompt_row(buf)
  local lines = api.nvim_buf_get_lines(buf, first, -1, true)
  local from, to = 1, #lines
  while from <= to and lines[from]:match('^%s*$') do
    from = from + 1
  end
  while to >= from and lines[to]:match('^%s*$') do
    to = to - 1
  end
  if from > to then
    return nil
  end
  local message = vim.list_slice(lines, from, to)
  local block = vim.list_extend(vim.list_extend({ you, '' }, message), { '', heading, '', '', '', '' })
  write(buf, function()
    api.nvim_buf_set_lines(buf, first, -1, true, block)
  end)
  local reply = first + #block - 3
  put(buf, START, reply, 0, false)
  put(buf, STOP, reply, 0, true)
  put(buf, PROMPT, reply + 2, 0, false)
  focus(buf, reply + 2)
  return message
end

-- Text added to the message being written (:GptChat with a range, :GptChatAdd): after what is
-- written there already, the chat shown and the cursor on an empty line below it, ready for the
-- question. An undo step of its own, as the user's edits are.
function M.add(buf, lines)
  local first = prompt_row(buf)
  local written = api.nvim_buf_get_lines(buf, first, -1, true)
  local block = vim.list_extend(vim.list_extend({}, lines), { '', '' })
  if blank(written) then
    api.nvim_buf_set_lines(buf, first, -1, true, block)
  else -- after the last line written, one empty line between
    local last = first + #written
    while last > first and written[last - first]:match('^%s*$') do
      last = last - 1
    end
    api.nvim_buf_set_lines(buf, last, -1, true, vim.list_extend({ '' }, block))
  end
  M.show(buf)
  focus(buf, api.nvim_buf_line_count(buf) - 1)
end

-- Insert text where the streamed reply ends: 'written', or why not yet ('insert', 'busy').
function M.append(buf, text)
  local held = blocked(buf)
  if held then
    return held
  end
  local row, col = get(buf, STOP)
  if row == nil then
    return 'written' -- the reply's place is gone (the buffer was cleared): nowhere to show it
  end
  local lines = vim.split(text, '\n', { plain = true })
  write(buf, function()
    api.nvim_buf_set_text(buf, row, col, row, col, lines)
  end)
  put(buf, STOP, row + #lines - 1, #lines == 1 and col + #lines[1] or #lines[#lines], true)
  return 'written'
end

-- The end of a reply, as one change: the streamed text replaced by final (the text the conversation
-- keeps) when given; note (a failed or cancelled reply) added after it; and restore (the message of
-- a failed turn) put back into the prompt area if that is empty, with again added to the note.
-- Returns 'written', 'restored', or why not yet ('insert', 'busy').
function M.finish(buf, final, note, restore, again)
  final, note, restore = given(final), given(note), given(restore)
  local held = blocked(buf)
  if held then
    return held
  end
  local srow, scol = get(buf, START)
  local erow, ecol = get(buf, STOP)
  local first = prompt_row(buf)
  local restored = restore ~= nil and blank(api.nvim_buf_get_lines(buf, first, -1, true))
  if not (final or note or restored) then
    return 'written' -- nothing to change (and no :undojoin without a change after it)
  end
  write(buf, function()
    if final and srow and erow then
      api.nvim_buf_set_text(buf, srow, scol, erow, ecol, final)
      erow, ecol = srow + #final - 1, #final == 1 and scol + #final[1] or #final[#final]
    end
    if note and erow then
      local empty = srow == erow and scol == ecol
      local text = note .. (restored and again or '')
      api.nvim_buf_set_text(buf, erow, ecol, erow, ecol, empty and { text } or { '', '', text })
    end
    if restored then
      api.nvim_buf_set_lines(buf, prompt_row(buf), -1, true, restore)
    end
  end)
  return restored and 'restored' or 'written'
end

return M
