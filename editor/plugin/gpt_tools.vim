" gpt-tools for Vim (and Neovim): :[range]GptFilter {assistant} [gpt-filter options], :GptTrust.
" :GptFilter runs `gpt-filter` over the range (default: the whole buffer) in the buffer's folder, so
" the buffer's project decides; the range is replaced only when it succeeds. With +job it runs in the
" background (autoload/gpt_tools/job.vim); else Vim waits, as with :%!. Errors found before anything
" runs are shown with :echoerr run from the command itself, so Vim shows just the message, not
" "Error detected while processing function". See :help gpt-tools.
" In Neovim, the remote plugin's :GptRun does the same without blocking (see editor/README.md).
if exists('g:loaded_gpt_tools')
  finish
endif
let g:loaded_gpt_tools = 1
let g:gpt_tools_status = get(g:, 'gpt_tools_status', '')

" <q-args>: the raw line, split by shell word rules in gpt_tools#split (:help gpt-tools-arguments).
command! -range=% -nargs=+ -complete=customlist,gpt_tools#complete
      \ GptFilter execute gpt_tools#filter(<line1>, <line2>, <q-args>)
if has('job')
  command! -bar -bang GptFilterCancel call gpt_tools#job#cancel(<bang>0)
endif
if !has('nvim')  " Neovim's :GptTrust is the remote plugin's
  command! -bar -bang GptTrust execute gpt_tools#trust#run(<bang>0)
endif

" A failed `:%!gpt-filter` in Neovim (or a GUI Vim) shows the reason gpt-filter logged (no terminal
" shows it there); `:%!` in a terminal Vim shows it already.
augroup gpt_tools_filter
  autocmd!
  autocmd FilterWritePre * call gpt_tools#filter_pre()
  autocmd ShellFilterPost * call gpt_tools#filter_post()
augroup END

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
