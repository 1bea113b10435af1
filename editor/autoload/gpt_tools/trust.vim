" gpt-tools for Vim: :GptTrust[!], as Neovim's: say what trusting the current buffer's project lets its
" config do, ask (unless !), then run `gpt-tools trust FOLDER`, which records it where every run reads.

" The settings a project may set only once trusted: gpt_tools/config/trust.py's SENSITIVE and
" TOP_LEVEL_ONLY (tests/test_vim_help.py holds the two lists equal).
let s:sensitive = ['base_url', 'api_key_env', 'api_key_cmd', 'auth_header', 'log_texts', 'run_log', 'store']
let s:top_level = ['prices']

let s:what = 'Its config may then choose where your API key and documents go (base_url, api_key_env, '
      \ . 'api_key_cmd, auth_header, store) and what your run log keeps (log_texts, run_log, [prices]).'

function! gpt_tools#trust#keys() abort
  return s:sensitive + s:top_level
endfunction

" The project config gpt-tools finds from folder (gpt_tools/config/loader.py find_project_config):
" the nearest gpt-tools.toml, or pyproject.toml with a [tool.gpt-tools] table, at or above folder.
function! gpt_tools#trust#config(folder) abort
  let l:folder = fnamemodify(a:folder, ':p')
  while 1
    let l:folder = substitute(l:folder, '/\+$', '', '')
    for [l:name, l:pyproject] in [['gpt-tools.toml', 0], ['pyproject.toml', 1]]
      let l:file = (empty(l:folder) ? '' : l:folder) . '/' . l:name
      if filereadable(l:file) && (!l:pyproject || match(readfile(l:file), s:tool_table) >= 0)
        return l:file
      endif
    endfor
    if empty(l:folder)
      return ''
    endif
    let l:folder = fnamemodify(l:folder, ':h')
    let l:folder = l:folder ==# '/' ? '' : l:folder
  endwhile
endfunction

let s:tool_table = '^\s*\[\s*tool\s*\.\s*\("gpt-tools"\|gpt-tools\)\s*[.\]]'

" The names of the trust-requiring settings file sets, for the question (a line scan: only shown).
function! s:sets(file) abort
  let [l:found, l:ours] = [[], a:file !~# 'pyproject\.toml$']
  let l:keys = '^\s*\(' . join(s:sensitive, '\|') . '\)\s*='
  let l:tables = '^\s*\[\s*\(tool\s*\.\s*\("gpt-tools"\|gpt-tools\)\s*\.\s*\)\=\(' . join(s:top_level, '\|') . '\)\s*\]'
  for l:line in readfile(a:file)
    if l:line =~# '^\s*\['
      let l:ours = a:file !~# 'pyproject\.toml$' || l:line =~# s:tool_table
    endif
    let l:key = l:ours ? matchlist(l:line, l:keys) : []
    let l:table = matchlist(l:line, l:tables)
    if !empty(l:key) || !empty(l:table)
      call add(l:found, !empty(l:key) ? l:key[1] : '[' . l:table[3] . ']')
    endif
  endfor
  return uniq(sort(l:found))
endfunction

" What :GptTrust asks before trusting the project whose config is file.
function! gpt_tools#trust#question(file) abort
  let l:sets = s:sets(a:file)
  let l:now = empty(l:sets) ? ' It sets none of them now.'
        \ : ' Its ' . fnamemodify(a:file, ':t') . ' sets: ' . join(l:sets, ', ') . '.'
  return 'Trust the project ' . fnamemodify(a:file, ':h') . "?\n" . s:what . l:now
endfunction

" :GptTrust[!]. Returns '' or an Ex command for the command itself to run (an :echoerr).
function! gpt_tools#trust#run(bang) abort
  let l:folder = gpt_tools#folder(bufnr('%'))
  let l:file = gpt_tools#trust#config(l:folder)
  if empty(l:file)
    call gpt_tools#say('GptTrust: no project config (gpt-tools.toml, pyproject.toml) above ' . l:folder
          \ . '; nothing to trust', 0)
    return ''
  endif
  let l:project = fnamemodify(l:file, ':h')
  if !a:bang && confirm(gpt_tools#trust#question(l:file), "&Trust\n&Cancel", 2, 'Question') != 1
    call gpt_tools#say('GptTrust: ' . l:project . ' not trusted (cancelled)', 0)
    return ''
  endif
  let l:command = join(map([gpt_tools#main_program(), 'trust', l:project], 'shellescape(v:val)'))
  let l:said = join(split(system(l:command . ' 2>&1 </dev/null')))
  if v:shell_error != 0
    return 'echoerr ' . string('GptTrust: gpt-tools trust ' . l:project . ' failed: ' . l:said)
  endif
  call gpt_tools#say('GptTrust: ' . (empty(l:said) ? l:project . ': trusted' : l:said), 0)
  return ''
endfunction
