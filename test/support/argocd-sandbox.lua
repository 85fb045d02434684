-- Runs an Argo CD health script the way Argo CD runs it (util/lua/lua.go): Lua 5.1 (gopher-lua
-- there), `obj` a global holding the object, only the package, base and table libraries and a
-- safe os (time, date) open, no string methods. Prints the status on the first line and the
-- message after it.
-- usage: lua5.1 argocd-sandbox.lua HEALTH_SCRIPT OBJECT_AS_LUA
local script = assert(loadfile(arg[1]))
local object = assert(loadfile(arg[2]))()
local env = { obj = object, table = table, os = { time = os.time, date = os.date }, package = package, require = require }
for _, name in ipairs({ "assert", "error", "getmetatable", "ipairs", "load", "loadstring", "next", "pairs", "pcall",
                        "print", "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring",
                        "type", "unpack", "xpcall", "_VERSION" }) do
  env[name] = _G[name]
end
env._G = env
-- Without the string library a string has no methods: ("x"):sub(1) fails in Argo CD, so here too.
getmetatable("").__index = nil
setfenv(script, env)
local ok, result = pcall(script)
if not ok then
  io.stderr:write("health script failed: " .. tostring(result) .. "\n")
  os.exit(2)
end
if type(result) ~= "table" then
  io.stderr:write("health script returned " .. type(result) .. ", not a table\n")
  os.exit(2)
end
io.write(tostring(result.status), "\n", tostring(result.message or ""))
