" gpt-tools for Vim: the body of :GptFilter. Plain legacy Vim script (Vim 8.1+, Neovim).

" The program to run; g:gpt_tools_filter overrides it (e.g. a path inside a virtualenv).
function! s:program() abort
  return get(g:, 'gpt_tools_filter', 'gpt-filter')
endfunction

" Assistant names for completion, from `gpt-tools list` (first word of each line).
function! gpt_tools#complete(lead, line, pos) abort
  let l:list = fnamemodify(exepath(s:program()), ':h') . '/gpt-tools'
  if !executable(l:list)
    let l:list = 'gpt-tools'
  endif
  let l:names = map(systemlist(shellescape(l:list) . ' list 2>/dev/null'), 'matchstr(v:val, ''^\S\+'')')
  return filter(l:names, 'v:val !=# "" && v:val =~? "^" . a:lead')
endfunction

" The Ex command that reports message as an error (run by :GptFilter through :execute).
function! s:fail(message) abort
  return 'echoerr ' . string('GptFilter: ' . a:message)
endfunction

" Run gpt-filter over lines first..last; replace them only on exit status 0. Returns '' on success,
" else an :echoerr command for :GptFilter to execute.
function! gpt_tools#filter(first, last, args) abort
  if !executable(s:program())
    return s:fail(s:program() . ' not found; pip install gpt-tools, or set g:gpt_tools_filter')
  endif
  let l:lines = getline(a:first, a:last)
  if match(l:lines, "\n") >= 0
    return s:fail('the range holds NUL bytes (binary data); nothing was sent')
  endif
  let l:errors = tempname()
  let l:command = join(map([s:program()] + a:args, 'shellescape(v:val)')) . ' 2>' . shellescape(l:errors)
  let l:output = system(l:command, join(l:lines, "\n") . "\n")
  let l:status = v:shell_error
  let l:message = filereadable(l:errors) ? join(readfile(l:errors), ' ') : ''
  call delete(l:errors)
  if l:status != 0
    return s:fail(empty(l:message) ? 'gpt-filter exited with status ' . l:status : l:message)
  endif
  call s:replace(a:first, a:last, split(l:output, "\n", 1)[: -2 + (l:output !~# "\n$")])
  return ''
endfunction

" Replace lines first..last with new, as one change (one undo step), keeping the view.
function! s:replace(first, last, new) abort
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
