" gpt-tools for Vim with +job: :GptFilter runs gpt-filter in the background, so Vim stays usable.
" The range goes in through a file and the result comes back through one: no byte reaches the buffer
" until gpt-filter has exited with status 0, and then only if the buffer still holds the text it had
" when the run started (else the result opens in a split: your edits are never overwritten).

let s:runs = {}      " buffer number -> the run working on it (one per buffer)
let s:pending = {}   " buffer number -> [run, result] waiting for the user to leave Insert mode
let s:timer = -1     " the progress timer, running while any run is
let s:mapped = 0     " we mapped Normal-mode <C-c> to :GptFilterCancel (it was unmapped)

function! gpt_tools#job#start(first, last, argv) abort
  let l:buf = bufnr('%')
  if has_key(s:runs, l:buf)
    return 'echoerr ' . string('GptFilter: already running in this buffer; :GptFilterCancel stops it')
  endif
  let l:files = {'in': gpt_tools#private_file(), 'out': gpt_tools#private_file(), 'err': gpt_tools#private_file()}
  if !s:write_input(l:files, getline(a:first, a:last))
    call s:delete({'files': l:files})
    return 'echoerr ' . string('GptFilter: could not write the text to a private temp file (' . fnamemodify(
          \ l:files.in, ':h') . '); nothing was run')
  endif
  let l:run = {'buf': l:buf, 'first': a:first, 'last': a:last, 'name': get(a:argv, 0, ''),
        \ 'before': getline(1, '$'), 'started': reltime(), 'files': l:files, 'cancelled': 0}
  let l:run.job = job_start([gpt_tools#program()] + a:argv, {
        \ 'cwd': gpt_tools#folder(l:buf),
        \ 'in_io': 'file', 'in_name': l:files.in,
        \ 'out_io': 'file', 'out_name': l:files.out,
        \ 'err_io': 'file', 'err_name': l:files.err,
        \ 'exit_cb': function('s:exited', [l:run]),
        \ })
  if job_status(l:run.job) ==# 'fail'
    call s:delete(l:run)
    return 'echoerr ' . string('GptFilter: could not start ' . gpt_tools#program())
  endif
  let s:runs[l:buf] = l:run
  if s:timer < 0
    let s:timer = timer_start(1000, function('s:tick'), {'repeat': -1})
  endif
  call s:map_cancel()
  call s:tick(0)
  return ''
endfunction

" The range into the input file, whole: a file cut short (a full disk, even under :silent!, which
" lets a failed writefile() go on) would have the run return a cut text that replaced the range.
function! s:write_input(files, lines) abort
  if index(values(a:files), '') >= 0
    return 0
  endif
  let l:text = a:lines + ['']  " + '': the last line ends in a newline
  try
    return writefile(l:text, a:files.in, 'b') == 0 && getfsize(a:files.in) == strlen(join(l:text, "\n"))
  catch
    return 0
  endtry
endfunction

" :GptFilterCancel[!]: this buffer's run (or the only one), or with ! every run.
function! gpt_tools#job#cancel(all) abort
  let l:here = bufnr('%')
  let l:all = keys(s:runs) + keys(s:pending)
  let l:bufs = a:all || (len(l:all) == 1 && index(l:all, string(l:here)) < 0) ? l:all : [l:here]
  call filter(l:bufs, 'has_key(s:runs, v:val) || has_key(s:pending, v:val)')
  if empty(l:bufs)
    call gpt_tools#say('GptFilter: nothing is running in this buffer', 0)
    return
  endif
  for l:buf in l:bufs
    let l:run = has_key(s:runs, l:buf) ? s:runs[l:buf] : s:pending[l:buf][0]
    let l:run.cancelled = 1  " its exit, which may come later, only cleans up
    call s:forget(l:run)
    call job_stop(l:run.job, 'term')  " gpt-filter gives the input back on SIGTERM; it is not read
    call s:finish(l:run, 'cancelled', 'GptFilter ' . l:run.name . ': cancelled; the text was left as it was', 0)
  endfor
endfunction

" Whether a run works on buffer buf (for a statusline or a script: 'running', 'waiting' or '').
function! gpt_tools#job#state(buf) abort
  return has_key(s:runs, a:buf) ? 'running' : has_key(s:pending, a:buf) ? 'waiting' : ''
endfunction

function! s:tick(timer) abort
  let l:parts = []
  for l:run in values(s:runs)
    let l:seconds = float2nr(round(reltimefloat(reltime(l:run.started))))  " ticks come about each second
    let l:said = matchstr(get(s:tail(l:run.files.err), -1, ''), '^gpt-filter: \zs.*')
    let l:where = fnamemodify(bufname(l:run.buf), ':t')
    call add(l:parts, printf('GptFilter %s on %s: %d s', l:run.name, empty(l:where) ? '[No Name]' : l:where,
          \ l:seconds) . (empty(l:said) ? '' : ' (' . l:said . ')'))
  endfor
  " strtrans(): a file name may hold control characters, and a 'titlestring' showing this status
  " would send them to the terminal raw (the status line and :echo show them as ^[).
  let g:gpt_tools_status = strtrans(join(l:parts, '; '))
  if get(g:, 'gpt_tools_progress', 1) && mode() ==# 'n' && !empty(l:parts)
    echo gpt_tools#fit(g:gpt_tools_status . (s:mapped ? '; Ctrl-C cancels' : ''))
  endif
  redrawstatus!
endfunction

" The last lines gpt-filter wrote to stderr (retries: why nothing arrives yet).
function! s:tail(file) abort
  return filereadable(a:file) ? readfile(a:file, '', -1) : []
endfunction

function! s:exited(run, job, status) abort
  if a:run.cancelled
    call s:delete(a:run)
    return
  endif
  call s:forget(a:run)
  let l:said = filereadable(a:run.files.err) ? readfile(a:run.files.err) : []
  let l:result = a:status == 0 ? gpt_tools#lines(readfile(a:run.files.out, 'b')) : []
  call s:delete(a:run)
  if a:status != 0
    let l:why = empty(l:said) ? ['gpt-filter exited with status ' . a:status] : l:said
    let l:why[0] = 'GptFilter ' . a:run.name . ': ' . substitute(l:why[0], '^gpt-filter: \(error: \)\=', '', '')
    call s:finish(a:run, 'error', join(l:why, "\n"), 1)
    return
  endif
  let a:run.notes = l:said  " refused edits, retries: for :messages
  call s:deliver(a:run, l:result)
endfunction

" The run is over as far as progress goes: no more ticks for it, <C-c> back as it was if none is left.
function! s:forget(run) abort
  if has_key(s:runs, a:run.buf)
    call remove(s:runs, a:run.buf)
  endif
  if has_key(s:pending, a:run.buf)
    call remove(s:pending, a:run.buf)
  endif
  if empty(s:runs)
    call timer_stop(s:timer)
    let s:timer = -1
    let g:gpt_tools_status = ''
    call s:unmap_cancel()
    redrawstatus!
  endif
endfunction

function! s:delete(run) abort
  for l:file in values(a:run.files)
    call delete(l:file)
  endfor
endfunction

" Apply the result, or wait for Insert mode (or the command-line window) to end, or open it in a
" split (the buffer changed, is gone, or cannot be changed).
function! s:deliver(run, result) abort
  let l:buf = a:run.buf
  if mode() =~# '^[iR]' && bufnr('%') == l:buf
    " Applied now, the result would join the undo step of the typing; a split would open under the
    " user's fingers: it waits for InsertLeave, and the checks below are made then.
    " Any buffer's: Insert mode may be left in another one (<C-o>:bnext).
    return s:hold(a:run, a:result, 'InsertLeave', 'applies when you leave insert mode')
  elseif getcmdwintype() !=# ''
    " The command-line window allows no change to another window (E11): neither the result nor a
    " split could go in. CmdwinLeave comes while it is still open: the result goes just after.
    return s:hold(a:run, a:result, 'CmdwinLeave', 'applies when you leave the command-line window')
  elseif !bufloaded(l:buf)
    return s:conflict(a:run, a:result, 'the buffer was closed meanwhile')
  elseif getbufline(l:buf, 1, '$') !=# a:run.before
    return s:conflict(a:run, a:result, 'the buffer changed meanwhile')
  elseif !getbufvar(l:buf, '&modifiable')
    return s:conflict(a:run, a:result, "the buffer cannot be changed ('modifiable' is off)")
  endif
  let l:old = s:slice(a:run.before, a:run.first - 1, a:run.last)
  try
    call gpt_tools#job#apply(l:buf, a:run.first, a:run.last, a:result)
  catch  " something refused the change: the result must not be lost with it (a takes it all)
    return s:conflict(a:run, a:result, 'it could not be applied (' . v:exception . ')')
  endtry
  let l:changed = s:changed(l:old, a:result)
  let l:seconds = float2nr(round(reltimefloat(reltime(a:run.started))))
  let l:what = l:changed == 0 ? 'no change' : l:changed . ' line(s) changed, u undoes it'
  let l:notes = empty(a:run.notes) ? '' : '; ' . len(a:run.notes) . ' note(s) in :messages'
  let l:message = 'GptFilter ' . a:run.name . ': ' . l:what . ' (' . l:seconds . ' s)' . l:notes
  call s:finish(a:run, 'ok', join([l:message] + a:run.notes, "\n"), 0)
endfunction

" Keep the result until event, then deliver it (the checks are made again then).
function! s:hold(run, result, event, when) abort
  let s:pending[a:run.buf] = [a:run, a:result]
  let g:gpt_tools_status = strtrans('GptFilter ' . a:run.name . ': result ready; ' . a:when)
  let l:call = 's:leave(' . a:run.buf . ')'
  execute 'autocmd' a:event '* ++once call' (a:event ==# 'CmdwinLeave' ? 'timer_start(0, {-> ' . l:call . '})' : l:call)
  redrawstatus!
endfunction

function! s:leave(buf) abort
  if has_key(s:pending, a:buf)
    let [l:run, l:result] = remove(s:pending, a:buf)
    let g:gpt_tools_status = ''
    redrawstatus!
    call s:deliver(l:run, l:result)
  endif
endfunction

" Replace lines first..last of buf with new in one undo step: in its window when it has one (the
" view kept), else through the buffer functions.
function! gpt_tools#job#apply(buf, first, last, new) abort
  let l:wins = win_findbuf(a:buf)
  let s:payload = [a:first, a:last, a:new]
  if !empty(l:wins)
    " Setting 'undolevels' closes the undo block before the change, so it is one step of its own.
    call win_execute(l:wins[0], 'let &g:undolevels = &g:undolevels | call call("gpt_tools#replace", s:payload)')
    return
  endif
  " Closes its undo block, as above (a buffer switch usually has already).
  call setbufvar(a:buf, '&undolevels', getbufvar(a:buf, '&undolevels'))
  let l:count = a:last - a:first + 1
  if len(a:new) > l:count
    call appendbufline(a:buf, a:last, repeat([''], len(a:new) - l:count))
  elseif len(a:new) < l:count
    call deletebufline(a:buf, a:first + len(a:new), a:last)
  endif
  if !empty(a:new)
    call setbufline(a:buf, a:first, a:new)
  endif
endfunction

" How many lines differ between old and new (the common first and last lines left out).
function! s:changed(old, new) abort
  let [l:head, l:size] = [0, min([len(a:old), len(a:new)])]
  while l:head < l:size && a:old[l:head] ==# a:new[l:head]
    let l:head += 1
  endwhile
  let l:tail = 0
  while l:tail < l:size - l:head && a:old[-1 - l:tail] ==# a:new[-1 - l:tail]
    let l:tail += 1
  endwhile
  let [l:old, l:new] = [s:slice(a:old, l:head, len(a:old) - l:tail), s:slice(a:new, l:head, len(a:new) - l:tail)]
  if len(l:old) != len(l:new)
    return max([len(l:old), len(l:new)])
  endif
  return len(filter(range(len(l:old)), 'l:old[v:val] !=# l:new[v:val]'))
endfunction

" Items start..end-1 of list (Vim's list[a : b] includes b, and list[: -1] is all of it).
function! s:slice(list, start, end) abort
  return a:end <= a:start ? [] : a:list[a:start : a:end - 1]
endfunction

" The buffer as the result would have made it, in a scratch split, diffed against the buffer when it
" is still shown: take hunks with :diffget (do), drop the result by closing the split. The result is
" made on the buffer as it is now when the user's edits are away from its lines, so that the diff
" shows only what the result changes (and a takes only that).
function! s:conflict(run, result, why) abort
  let [l:text, l:base] = [s:slice(a:run.before, 0, a:run.first - 1) + a:result + a:run.before[a:run.last :],
        \ a:run.before]
  if bufloaded(a:run.buf)
    let l:cur = getbufline(a:run.buf, 1, '$')
    let l:change = gpt_tools#merge#merge(a:run.before, l:text, l:cur)
    if !empty(l:change)
      let [l:text, l:base] = [call('gpt_tools#merge#spliced', [l:cur] + l:change), l:cur]
    endif
  endif
  let l:from = win_getid()  " the cursor goes back there: the split must not take it from the user
  let l:wins = bufloaded(a:run.buf) ? win_findbuf(a:run.buf) : []
  if !empty(l:wins)
    call win_gotoid(l:wins[0])
  endif
  let l:filetype = getbufvar(a:run.buf, '&filetype')
  try
    belowright new
  catch /^Vim\%((\a\+)\)\=:E36:/  " no room for another window: a tab has room (no diff across tabs)
    tabnew
    let l:wins = []
  endtry
  setlocal buftype=nofile bufhidden=wipe noswapfile
  call setline(1, l:text)
  let &l:filetype = l:filetype
  silent! execute 'file' fnameescape('gpt-filter://' . a:run.name . '/' . a:run.buf . '/result')
  setlocal nomodified
  call gpt_tools#split#keys(a:run.buf, a:run.name, !empty(l:wins), l:base)
  if !empty(l:wins)
    diffthis
    call win_gotoid(l:wins[0])
    diffthis
  endif
  call win_gotoid(l:from)
  let l:how = empty(l:wins) ? 'a takes it, q drops it' : 'diffed: a takes all, x a hunk, q drops it'
  call s:finish(a:run, 'conflict', 'GptFilter ' . a:run.name . ': ' . a:why . '; the result is in a split ('
        \ . l:how . ')', 1)
endfunction

" Every run ends here: the message, g:gpt_tools_last, then User GptToolsDone (as in Neovim).
function! s:finish(run, status, message, error) abort
  let g:gpt_tools_last = {'status': a:status, 'buffer': a:run.buf, 'assistant': a:run.name,
        \ 'message': a:message, 'seconds': reltimefloat(reltime(a:run.started))}
  call gpt_tools#say(a:message, a:error)
  if exists('#User#GptToolsDone')
    doautocmd <nomodeline> User GptToolsDone
  endif
endfunction

" Ctrl-C in Normal mode cancels while a run works, unless the user mapped <C-c> themselves.
function! s:map_cancel() abort
  if !s:mapped && empty(maparg('<C-c>', 'n'))
    nnoremap <silent> <C-c> :<C-u>GptFilterCancel<CR>
    let s:mapped = 1
  endif
endfunction

function! s:unmap_cancel() abort
  if s:mapped && maparg('<C-c>', 'n') ==# ':<C-U>GptFilterCancel<CR>'
    nunmap <C-c>
  endif
  let s:mapped = 0
endfunction
