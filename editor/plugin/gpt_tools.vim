" gpt-tools for Vim (and Neovim): :[range]GptFilter {assistant} [gpt-filter options]
" Runs `gpt-filter` over the range (default: the whole buffer) and replaces the range only when it
" succeeds; on failure the text is left alone and the reason is shown with :echoerr (run from the
" command itself, so Vim shows just the message, not "Error detected while processing function").
" In Neovim, the remote plugin's :GptRun does the same without blocking (see editor/README.md).
if exists('g:loaded_gpt_tools')
  finish
endif
let g:loaded_gpt_tools = 1

command! -range=% -nargs=+ -complete=customlist,gpt_tools#complete
      \ GptFilter execute gpt_tools#filter(<line1>, <line2>, [<f-args>])

" Neovim: start the Python host of the remote plugin the first time the user is idle (CursorHold),
" so that even the session's first :GptRun returns at once. Neovim starts a remote plugin's host
" synchronously (about 0.1 s) on first use; done while idle, nobody waits for it.
" Opt out with: let g:gpt_tools_prestart = 0
if has('nvim')
  function! s:prestart() abort
    if !get(g:, 'gpt_tools_prestart', 1) || exists(':GptRun') != 2
      return
    endif
    try
      call remote#host#Require('python3')
    catch
      " no Python host: :GptRun and :checkhealth gpt_tools say so when the user asks
    endtry
  endfunction
  augroup gpt_tools_prestart
    autocmd!
    autocmd CursorHold * ++once call s:prestart()
  augroup END
endif
