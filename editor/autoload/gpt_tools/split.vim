" gpt-tools for Vim: the keys of the split a :GptFilter result opens in when it could not be applied
" (you edited the buffer meanwhile, or closed it), as Neovim's diff split (:help gpt-tools-diff-keys):
"   a  take all: the buffer becomes the split's text (one undo step), the split closes
"   d, q  drop it: the split closes, nothing applied
"   x, <CR>  take the hunk under the cursor (:diffput), then go to the next (only when diffed)

function! gpt_tools#split#keys(target, name, diffed) abort
  let b:gpt_tools_result = {'target': a:target, 'name': a:name}
  nnoremap <buffer> <silent> a :<C-u>call gpt_tools#split#take_all()<CR>
  nnoremap <buffer> <silent> d :<C-u>call gpt_tools#split#drop()<CR>
  nnoremap <buffer> <silent> q :<C-u>call gpt_tools#split#drop()<CR>
  if a:diffed
    nnoremap <buffer> <silent> x :<C-u>call gpt_tools#split#take_hunk()<CR>
    nnoremap <buffer> <silent> <CR> :<C-u>call gpt_tools#split#take_hunk()<CR>
  endif
  let &l:statusline = '%f%=' . (a:diffed ? 'x take hunk  ]c [c  ' : '') . 'a take all  d/q drop '
endfunction

function! gpt_tools#split#take_hunk() abort
  diffput
  silent! normal! ]c
endfunction

function! gpt_tools#split#take_all() abort
  let l:result = b:gpt_tools_result
  if !bufloaded(l:result.target)
    call gpt_tools#say('GptFilter ' . l:result.name . ': the buffer is gone; nothing was taken', 1)
    return
  elseif !getbufvar(l:result.target, '&modifiable')
    call gpt_tools#say('GptFilter ' . l:result.name . ": the buffer cannot be changed ('modifiable' is off);"
          \ . ' nothing was taken (set it, then a again)', 1)
    return
  endif
  let l:lines = getline(1, '$')
  call s:close(l:result.target)
  call gpt_tools#job#apply(l:result.target, 1, len(getbufline(l:result.target, 1, '$')), l:lines)
  call gpt_tools#say('GptFilter ' . l:result.name . ': the result replaced the buffer; u undoes it', 0)
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
