" gpt-tools for Vim: a result made for one text, applied to the buffer as it is now (the user may have
" edited it since), as Neovim's editor/lua/gpt_tools/result.lua merge() does. Vim 9.0 has no diff():
" the line diff is Myers' O(ND), on the lines between the shared ends.

" Three texts: base (the buffer the result was made for), new (the result applied to base) and cur
" (the buffer now). What new changes in base, as a change to cur: [start, stop, lines] (0-based, stop
" exclusive), or [] when cur changed where new does (or right there, both adding lines at one place:
" which goes first is unknown), so taking it would overwrite an edit of the user's; 0 when base and cur
" differ too much to tell (see s:most).
function! gpt_tools#merge#merge(base, new, cur) abort
  let [l:first, l:stop] = s:span(a:base, a:new)
  let l:lines = s:slice(a:new, l:first, len(a:new) - (len(a:base) - l:stop))
  let l:hunks = s:hunks(a:base, a:cur)
  if type(l:hunks) != v:t_list  " too different to tell the user's edits apart: take nothing
    return 0
  endif
  let l:shift = 0
  for [l:from, l:to, l:count] in l:hunks
    let l:same_point = l:first == l:stop && l:from == l:to && l:from == l:first
    if l:to <= l:first && !l:same_point  " above the result's lines: they moved
      let l:shift += l:count - (l:to - l:from)
    elseif !(l:stop <= l:from && !l:same_point)  " neither above nor below: on them
      return []
    endif
  endfor
  return [l:first + l:shift, l:stop + l:shift, l:lines]
endfunction

" list with items start..stop-1 replaced by lines.
function! gpt_tools#merge#spliced(list, start, stop, lines) abort
  return s:slice(a:list, 0, a:start) + a:lines + a:list[a:stop :]
endfunction

" The span new changes in base, found by the lines both share at the ends: base[first : stop-1]
" becomes new[first : len(new) - (len(base) - stop) - 1].
function! s:span(base, new) abort
  let l:first = s:same(a:base, a:new, 0, 0)
  let l:most = min([len(a:base), len(a:new)]) - l:first
  let l:tail = min([l:most, s:same(reverse(copy(a:base)), reverse(copy(a:new)), 0, 0)])
  return [l:first, len(a:base) - l:tail]
endfunction

" Items start..end-1 of list (Vim's list[a : b] includes b, and list[: -1] is all of it).
function! s:slice(list, start, end) abort
  return a:end <= a:start ? [] : a:list[a:start : a:end - 1]
endfunction

" The hunks of a line diff of a and b, in order: [from, to, count] (a's lines from..to-1, 0-based,
" became count lines of b; from == to: lines added before a's line from). v:null past s:most changes
" (telling them apart would keep Vim busy for long: a takes nothing then, x still works).
let s:most = 100
function! s:hunks(a, b) abort
  let [l:head, l:tail] = s:span(a:a, a:b)
  let l:a = s:slice(a:a, l:head, l:tail)
  let l:b = s:slice(a:b, l:head, len(a:b) - (len(a:a) - l:tail))
  let l:steps = s:steps(l:a, l:b)
  if type(l:steps) != v:t_list
    return v:null
  endif
  let l:hunks = []  " [from, to, first line of b, end of b]: steps with no shared line between join
  for [l:x0, l:y0, l:x1, l:y1] in l:steps
    if !empty(l:hunks) && l:hunks[-1][1] == l:x0 && l:hunks[-1][3] == l:y0
      let [l:hunks[-1][1], l:hunks[-1][3]] = [l:x1, l:y1]
    else
      call add(l:hunks, [l:x0, l:x1, l:y0, l:y1])
    endif
  endfor
  return map(l:hunks, '[l:head + v:val[0], l:head + v:val[1], v:val[3] - v:val[2]]')
endfunction

" A shortest edit script of a into b (Myers), in order: each step [x0, y0, x1, y1] drops line x0 of a
" (x1 = x0 + 1) or adds line y0 of b (y1 = y0 + 1). v:null past s:most steps.
function! s:steps(a, b) abort
  let [l:n, l:m] = [len(a:a), len(a:b)]
  let [l:v, l:trace, l:end] = [{'1': 0}, [], -1]
  for l:d in range(0, min([l:n + l:m, s:most]))
    call add(l:trace, copy(l:v))
    for l:k in range(-l:d, l:d, 2)
      let l:x = l:k == -l:d || (l:k != l:d && l:v[l:k - 1] < l:v[l:k + 1]) ? l:v[l:k + 1] : l:v[l:k - 1] + 1
      let l:x += s:same(a:a, a:b, l:x, l:x - l:k)
      let l:v[l:k] = l:x
      if l:x >= l:n && l:x - l:k >= l:m
        let l:end = l:d
        break
      endif
    endfor
    if l:end >= 0
      break
    endif
  endfor
  return l:end < 0 ? v:null : s:back(l:trace, l:end, l:n, l:m)
endfunction

" How many lines a[x :] and b[y :] share at their start. Compared in runs that double, then halve:
" list comparison is Vim's own (C), so a long shared stretch costs a few script steps, not one each.
function! s:same(a, b, x, y) abort
  let l:most = min([len(a:a) - a:x, len(a:b) - a:y])
  let [l:count, l:step] = [0, 1]
  while l:count + l:step <= l:most && a:a[a:x + l:count : a:x + l:count + l:step - 1]
        \ ==# a:b[a:y + l:count : a:y + l:count + l:step - 1]
    let [l:count, l:step] = [l:count + l:step, l:step * 2]
  endwhile
  while l:step > 1
    let l:step = l:step / 2
    if l:count + l:step <= l:most && a:a[a:x + l:count : a:x + l:count + l:step - 1]
          \ ==# a:b[a:y + l:count : a:y + l:count + l:step - 1]
      let l:count += l:step
    endif
  endwhile
  return l:count
endfunction

" Walk the trace back from (n, m): the step off the diagonal each d made, first one first.
function! s:back(trace, end, n, m) abort
  let [l:x, l:y, l:steps] = [a:n, a:m, []]
  for l:d in range(a:end, 1, -1)
    let l:v = a:trace[l:d]
    let l:k = l:x - l:y
    let l:down = l:k == -l:d || (l:k != l:d && l:v[l:k - 1] < l:v[l:k + 1])
    let l:prev = l:down ? l:k + 1 : l:k - 1
    let [l:x, l:y] = [l:v[l:prev], l:v[l:prev] - l:prev]
    call add(l:steps, l:down ? [l:x, l:y, l:x, l:y + 1] : [l:x, l:y, l:x + 1, l:y])
  endfor
  return reverse(l:steps)
endfunction
