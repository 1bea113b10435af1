-- gpt-tools for Neovim, the part that needs no Python: :GptToolsInstall, and stand-ins for the remote
-- plugin's commands until it is registered, so that a first :GptRun says how to install it instead of
-- "E492: Not an editor command" (editor/lua/gpt_tools/install.lua). Vim reads no plugin/*.lua.
if vim.g.loaded_gpt_tools_nvim then
  return
end
vim.g.loaded_gpt_tools_nvim = 1

vim.api.nvim_create_user_command('GptToolsInstall', function()
  require('gpt_tools.install').install()
end, { desc = 'gpt-tools: what is missing to run the Neovim plugin here, and the commands that fix it' })

-- :GptChat and :GptChatAdd call the remote plugin's functions (they need the range count).
require('gpt_tools.install').chat_commands()

-- After the remote plugin's manifest was read (it defines the commands when registered; an older
-- manifest may still define :GptChat, which ours replace again).
if vim.v.vim_did_enter == 1 then
  require('gpt_tools.install').chat_commands()
  require('gpt_tools.install').stand_ins()
else
  vim.api.nvim_create_autocmd('VimEnter', {
    once = true,
    callback = function()
      require('gpt_tools.install').chat_commands()
      require('gpt_tools.install').stand_ins()
    end,
  })
end
