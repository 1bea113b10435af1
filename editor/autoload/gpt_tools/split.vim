" gpt-tools for Vim: the keys of the split a :GptFilter result opens in when it could not be applied
" (you edited the buffer meanwhile, or closed it), as Neovim's diff split (:help gpt-tools-diff-keys):
"   a  take all: what the result changes goes into the buffer (one undo step), the split closes;
"      edits made elsewhere in the buffer (while it ran, or since the split opened) stay
"   d, q  drop it: the split closes, nothing applied
"   x, <CR>  take the hunk under the cursor (:diffput), then go to the next (only when diffed)

" base: the target's text the split's text was made from (the result applied to it), for a to tell
" the result's changes from the user's (gpt_tools#merge#merge).
function! gpt_tools#split#keys(target, name, diffed, base) abort
  let b:gpt_tools_result = {'target': a:target, 'name': a:name, 'base': a:base}
  nnoremap <buffer> <silent> a :<C-u>call gpt_tools#split#take_all()<CR>
  nnoremap <buffer> <silent> d :<C-u>call gpt_tools#split#drop()<CR>
  nnoremap <buffer> <silent> q :<C-u>call gpt_tools#split#drop()<CR>
  if a:diffed
    nnoremap <buffer> <silent> x :<C-u>call gpt_tools#split#take_hunk()<CR>
    nnoremap <buffer> <silent> <CR> :<C-u>call gpt_tools#split#take_hunk()<CR>
  endif
  let &l:statusline = '%f%=' . (a:diffed ? 'x take hunk  ]c [c  ' : '') . 'a take all  d/q drop '
endfunction

" The put is made in the base too, so that a later a does not count it as an edit of the user's.
function! gpt_tools#split#take_hunk() abort
  let l:result = b:gpt_tools_result
  if !s:writable(l:result)
    return
  endif
  let l:before = getbufline(l:result.target, 1, '$')
  diffput
  let l:put = gpt_tools#merge#merge(l:before, getbufline(l:result.target, 1, '$'), l:result.base)
  if !empty(l:put)
    let l:result.base = call('gpt_tools#merge#spliced', [l:result.base] + l:put)
  endif
  silent! normal! ]c
endfunction

" a: what the result changes, into the target in one undo step, and nothing else: the user's edits
" made since the base stay. If the user edited where the result goes, nothing is taken (x still works).
function! gpt_tools#split#take_all() abort
  let l:result = b:gpt_tools_result
  if !s:writable(l:result)
    return
  endif
  let [l:new, l:cur] = [getline(1, '$'), getbufline(l:result.target, 1, '$')]
  if l:new ==# l:cur  " every hunk taken already (x)
    call s:close(l:result.target)
    return gpt_tools#say('GptFilter ' . l:result.name . ': the buffer already has the whole result', 0)
  endif
  let l:change = gpt_tools#merge#merge(l:result.base, l:new, l:cur)
  if type(l:change) != v:t_list
    return gpt_tools#say('GptFilter ' . l:result.name . ': you edited too many lines to tell them from the'
          \ . " result's; nothing was taken (x takes a hunk, d drops it)", 1)
  elseif empty(l:change)
    return gpt_tools#say('GptFilter ' . l:result.name . ': you edited the lines the result changes;'
          \ . ' nothing was taken (x takes a hunk, d drops it)', 1)
  endif
  let [l:start, l:stop, l:lines] = l:change
  call s:close(l:result.target)
  call gpt_tools#job#apply(l:result.target, l:start + 1, l:stop, l:lines)
  call gpt_tools#say('GptFilter ' . l:result.name . ': the result was taken, your other edits kept;'
        \ . ' u undoes it', 0)
endfunction

" Whether the target can take text now; says why not.
function! s:writable(result) abort
  if !bufloaded(a:result.target)
    call gpt_tools#say('GptFilter ' . a:result.name . ': the buffer is gone; nothing was taken', 1)
    return 0
  elseif !getbufvar(a:result.target, '&modifiable')
    call gpt_tools#say('GptFilter ' . a:result.name . ": the buffer cannot be changed ('modifiable' is off);"
          \ . ' nothing was taken (set it, then a again)', 1)
    return 0
  endif
  return 1
endfunction

function! gpt_tools#split#drop() abort
  let l:result = b:gpt_tools_result
  call s:close(l:result.target)
  call gpt_tools#say('GptFilter ' . l:result.name . ': the result was dropped', 0)
endfunction

" Close the split (its buffer goes: bufhidden=wipe) and end the diff of the buffer it was diffed with.
function! s:close(target) abort
  let l:split = bufnr('%')
  for l:win in bufloaded(a:target) ? win_findbuf(a:target) : []
    call win_execute(l:win, 'diffoff')
  endfor
  execute 'bwipeout!' l:split
endfunction
