" gpt-tools for Vim: the body of :GptFilter (and the helpers :GptTrust shares). Plain legacy Vim script (Vim 8.1+, Neovim).
" The job-based :GptFilter (Vim with +job) is in autoload/gpt_tools/job.vim.

" The program to run; g:gpt_tools_filter overrides it (e.g. a path inside a virtualenv). As a full
" path: it runs in the buffer's folder, where a path relative to Vim's would name nothing.
function! gpt_tools#program() abort
  let l:program = get(g:, 'gpt_tools_filter', 'gpt-filter')
  let l:found = exepath(l:program)
  return empty(l:found) ? l:program : fnamemodify(l:found, ':p')
endfunction

" `gpt-tools`, next to gpt-filter when that is a path (a virtualenv's bin), else from $PATH.
function! gpt_tools#main_program() abort
  let l:main = fnamemodify(exepath(gpt_tools#program()), ':h') . '/gpt-tools'
  return executable(l:main) ? l:main : 'gpt-tools'
endfunction

" The folder whose project a buffer belongs to: the buffer file's folder (gpt-tools walks up from
" there, as it would in a shell cd'ed there), else Vim's working folder (an unnamed buffer).
function! gpt_tools#folder(buf) abort
  let l:name = bufname(a:buf)
  let l:folder = empty(l:name) || !empty(getbufvar(a:buf, '&buftype')) ? '' : fnamemodify(l:name, ':p:h')
  return isdirectory(l:folder) ? l:folder : getcwd()
endfunction

" A shell command that runs argv in folder (for system(), where no job is available).
function! s:in_folder(folder, argv) abort
  return 'cd ' . shellescape(a:folder) . ' && ' . join(map(copy(a:argv), 'shellescape(v:val)'))
endfunction

" Split an argument line into words by the rules of :help gpt-tools-arguments (POSIX shell words, as
" Python's shlex.split: quotes and backslashes, no expansion). Returns {'argv': [...]} or {'error': why}.
" tests/fixtures/editor_args.json is the shared definition Vim's and Neovim's splits are tested against.
function! gpt_tools#split(line) abort
  " Byte by byte: every character that matters is ASCII, and no byte of a UTF-8 sequence is one. By
  " characters (split(line, '\zs')), a combining mark joins the quote, backslash or blank before it
  " into one character that is none of them (a blank and its mark were dropped, a quote not seen).
  let [l:words, l:word, l:in_word, l:quote] = [[], '', 0, '']
  let [l:i, l:end] = [0, strlen(a:line)]
  while l:i < l:end
    let l:c = a:line[l:i]
    if l:quote ==# "'"
      let [l:quote, l:word] = l:c ==# "'" ? ['', l:word] : [l:quote, l:word . l:c]
    elseif l:quote ==# '"'
      if l:c ==# '"'
        let l:quote = ''
      elseif l:c ==# '\' && a:line[l:i + 1] =~# '^["\\]$'
        let l:i += 1
        let l:word .= a:line[l:i]
      else
        let l:word .= l:c
      endif
    elseif l:c =~# '^[ \t\r\n]$'
      if l:in_word
        call add(l:words, l:word)
      endif
      let [l:word, l:in_word] = ['', 0]
    elseif l:c ==# '\'
      if l:i + 1 >= l:end
        return {'error': 'a backslash at the end escapes nothing'}
      endif
      let l:i += 1
      let [l:word, l:in_word] = [l:word . a:line[l:i], 1]  " a lead byte's others follow as plain bytes
    elseif l:c ==# "'" || l:c ==# '"'
      let [l:quote, l:in_word] = [l:c, 1]
    else
      let [l:word, l:in_word] = [l:word . l:c, 1]
    endif
    let l:i += 1
  endwhile
  if l:quote !=# ''
    return {'error': 'the ' . l:quote . ' quote is not closed'}
  endif
  return {'argv': l:in_word ? add(l:words, l:word) : l:words}
endfunction

let s:options = ['-i', '--instruct', '-m', '--model', '--backend', '--input-files', '--allow-secrets', '--dry-run']

" The first argument: assistant names of the buffer's project, from `gpt-tools list` run in its
" folder; later ones starting with '-': gpt-filter's options.
function! gpt_tools#complete(lead, line, pos) abort
  let l:before = matchstr(strpart(a:line, 0, a:pos), '\S\+\s\+\zs.*')
  if l:before =~# '\S\s'
    return filter(copy(s:options), 'a:lead =~# "^-" && stridx(v:val, a:lead) == 0')
  endif
  let l:command = s:in_folder(gpt_tools#folder(bufnr('%')), [gpt_tools#main_program(), 'list']) . ' 2>/dev/null'
  let l:names = map(systemlist(l:command), 'matchstr(v:val, ''^\S\+'')')
  return filter(l:names, 'v:val !=# "" && stridx(tolower(v:val), tolower(a:lead)) == 0')
endfunction

" Show message: the first line on the command line (cut to fit, so no hit-enter prompt interrupts),
" every line in :messages.
function! gpt_tools#say(message, error) abort
  let l:lines = split(a:message, "\n")
  for l:line in l:lines
    echomsg l:line
  endfor
  redraw  " the lines just shown are cleared away (no hit-enter prompt); the history keeps them
  execute 'echohl' a:error ? 'ErrorMsg' : 'None'
  echo gpt_tools#fit(get(l:lines, 0, ''))
  echohl None
endfunction

" text cut to what fits on the message line without a hit-enter prompt (v:echospace: Vim 8.2.1397+).
function! gpt_tools#fit(text) abort
  let l:room = max([(exists('v:echospace') ? v:echospace : &columns - 12) - 1, 20])
  let l:text = strcharpart(a:text, 0, l:room)
  while strdisplaywidth(l:text) > l:room  " wide characters take two cells
    let l:text = strcharpart(l:text, 0, strchars(l:text) - 1)
  endwhile
  return l:text
endfunction

" The Ex command that reports message as an error (run by :GptFilter through :execute).
function! s:fail(message) abort
  return 'echoerr ' . string('GptFilter: ' . a:message)
endfunction

" :[range]GptFilter {args}: check, split, then run as a job where Vim has one, else wait for it.
" Returns '' or an Ex command (:echoerr) for the command itself to execute, so that Vim shows just the
" message, not "Error detected while processing function".
function! gpt_tools#filter(first, last, line) abort
  let l:split = gpt_tools#split(a:line)
  if has_key(l:split, 'error')
    return s:fail(l:split.error . '; nothing was run (see :help gpt-tools-arguments)')
  endif
  if !executable(gpt_tools#program())
    return s:fail(gpt_tools#program() . ' not found; pip install gpt-tools, or set g:gpt_tools_filter')
  endif
  if !&modifiable  " a help page, a -M buffer: the result could go nowhere, so nothing is sent (and paid)
    return s:fail("the buffer cannot be changed ('modifiable' is off); nothing was sent")
  endif
  let l:lines = getline(a:first, a:last)
  if match(l:lines, "\n") >= 0
    return s:fail('the range holds NUL bytes (binary data); nothing was sent')
  endif
  if has('job') && exists('*win_execute') && !get(g:, 'gpt_tools_filter_wait', 0)  " win_execute: Vim 8.1.1418
    return gpt_tools#job#start(a:first, a:last, l:split.argv)
  endif
  return s:wait(a:first, a:last, l:split.argv, l:lines)
endfunction

" Without +job: run gpt-filter and wait, as :%! does. Ctrl-C stops it (gpt-filter gives the input back).
function! s:wait(first, last, argv, lines) abort
  let l:errors = gpt_tools#private_file()
  if empty(l:errors)
    return s:fail('could not make a private temp file (' . fnamemodify(tempname(), ':h') . '); nothing was run')
  endif
  let l:command = s:in_folder(gpt_tools#folder(bufnr('%')), [gpt_tools#program()] + a:argv)
  try
    " systemlist(): NUL bytes come back as NUL (as in readfile(..., 'b')); system() makes them ^A.
    let l:output = systemlist(l:command . ' 2>' . shellescape(l:errors), join(a:lines, "\n") . "\n")
    let l:status = v:shell_error
  catch /^Vim:Interrupt$/
    let l:status = 130
  endtry
  let l:message = filereadable(l:errors) ? join(readfile(l:errors), "\n") : ''
  call delete(l:errors)
  if l:status == 130  " SIGINT: Ctrl-C; the terminal echoed ^C behind Vim's back: redraw! clears it
    return 'redraw! | echomsg ' . string('GptFilter: cancelled; the text was left as it was')
  elseif l:status != 0
    return s:fail(empty(l:message) ? 'gpt-filter exited with status ' . l:status : l:message)
  endif
  call gpt_tools#replace(a:first, a:last, l:output)  " systemlist() leaves no item for the final newline
  return ''
endfunction

" A new empty file only its owner may read (0600: it will hold the buffer's text or what the run
" said about it), in Vim's private temp folder (0700, a random name); '' when it cannot be made.
" writefile() and the redirections would make it 0644 (the umask).
function! gpt_tools#private_file() abort
  let l:file = tempname()
  try
    call writefile([], l:file, 'b')
  catch
    return ''
  endtry
  return setfperm(l:file, 'rw-------') ? l:file : ''
endfunction

" Output lines (readfile(..., 'b') or split(..., 1)) without the empty item a final newline leaves.
function! gpt_tools#lines(pieces) abort
  return !empty(a:pieces) && a:pieces[-1] ==# '' ? a:pieces[: -2] : a:pieces
endfunction

" Replace lines first..last of the current buffer with new, as one change (one undo step), keeping the view.
function! gpt_tools#replace(first, last, new) abort
  if a:new ==# getline(a:first, a:last)
    return
  endif
  let l:view = winsaveview()
  let l:count = a:last - a:first + 1
  if len(a:new) > l:count
    call append(a:last, repeat([''], len(a:new) - l:count))
  elseif len(a:new) < l:count
    silent execute (a:first + len(a:new)) . ',' . a:last . 'delete _'
  endif
  if !empty(a:new)
    call setline(a:first, a:new)
  endif
  call winrestview(l:view)
endfunction

" The log file gpt-filter writes its messages to (gpt_tools/state/paths.py log_file, through
" platformdirs' user state dir): under `:%!` its stderr is the buffer, so the reason goes there.
function! gpt_tools#log_file() abort
  if has('mac')
    let l:state = expand('~/Library/Application Support')
  elseif has('win32')
    let l:state = $LOCALAPPDATA
  else
    let l:state = $XDG_STATE_HOME =~# '^/' ? $XDG_STATE_HOME : expand('~/.local/state')
  endif
  return l:state . '/gpt-tools/gpt-tools.log'
endfunction

" FilterWritePre, ShellFilterPost: where the filter's messages cannot reach a terminal (Neovim runs
" filters without one; so does a GUI Vim), a failed `:{range}!gpt-filter` shows the lines it logged
" meanwhile instead of a bare "shell returned 1". (Neither editor has a ShellFilterPre event.)
function! gpt_tools#filter_pre() abort
  let s:log_size = getfsize(gpt_tools#log_file())
  " '[ and '] hold the range written for the filter: what a dropped output takes away (see below).
  let s:filtered = {'buf': bufnr('%'), 'lines': line("']") - line("'[") + 1, 'total': line('$'),
        \ 'change': changenr()}
endfunction

function! gpt_tools#filter_post() abort
  let [l:before, s:log_size] = [get(s:, 'log_size', -2), -2]
  let [l:filtered, s:filtered] = [get(s:, 'filtered', {}), {}]
  let l:log = gpt_tools#log_file()
  if v:shell_error == 0 || !(has('nvim') || has('gui_running')) || !filereadable(l:log)
    return
  endif
  if has('nvim') && !empty(l:filtered) && l:before >= -1
    " Once the filter command is over; gpt-filter's log line may come after Neovim went on.
    call timer_start(50, function('s:restore', [extend(l:filtered, {'log': l:log, 'size': l:before})]))
  endif
  let l:text = join(readfile(l:log, 'b'), "\n")
  if l:before >= -1  " FilterWritePre saw the log's size (-1: there was none): what came since
    let l:lines = split(l:text[max([l:before, 0]) :], "\n")
  elseif getftime(l:log) >= localtime() - 2  " no temp file, no FilterWritePre: the last run's lines
    let l:lines = split(l:text, "\n")
    let l:pid = matchstr(get(l:lines, -1, ''), '^\S\+ \zs\S\+\[\d\+\]')
    let l:first = len(l:lines)
    while l:first > 0 && matchstr(l:lines[l:first - 1], '^\S\+ \zs\S\+\[\d\+\]') ==# l:pid
      let l:first -= 1
    endwhile
    let l:lines = l:lines[l:first :]
  else
    return
  endif
  echohl ErrorMsg
  for l:line in l:lines
    echomsg matchstr(l:line, '^\S\+ \S\+\[\d\+\] \zs.*')
  endfor
  echohl None
endfunction

" Neovim 0.7 may drop what a filter printed when Ctrl-C stopped it (the Ctrl-C is seen again while
" it reads the output back): the range goes empty, whatever gpt-filter gave back. When gpt-filter
" logged meanwhile (so it ran, and printed the input back) and the range is gone in one change,
" that change is undone: the text is exactly as it was.
function! s:restore(filtered, timer) abort
  if bufnr('%') != a:filtered.buf || changenr() != a:filtered.change + 1
        \ || line('$') != max([a:filtered.total - a:filtered.lines, 1]) || getfsize(a:filtered.log) <= a:filtered.size
    return
  endif
  silent undo
  call gpt_tools#say('gpt-filter: Neovim dropped the text it gave back (Ctrl-C); the text is restored', 1)
endfunction
