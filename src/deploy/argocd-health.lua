-- Argo CD health for Phoenix objects (PhoenixHypervisor, PhoenixLXC, PhoenixVM, PhoenixStack).
-- Reads what kstatus reads: observedGeneration and the Ready, Reconciling and Stalled conditions.
-- Written for Argo CD's sandbox: Lua 5.1 with only the base and table libraries (no string or
-- math), so it concatenates and compares, nothing more.
local hs = { status = "Progressing", message = "Waiting for Phoenix to report status" }
if obj.status == nil then
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Phoenix has not yet acted on generation " .. generation
  return hs
end
local conditions = {}
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    conditions[condition.type] = condition
  end
end
local ready = conditions["Ready"]
local stalled = conditions["Stalled"]
local reconciling = conditions["Reconciling"]
local synced = conditions["Synced"]
local function say(condition)
  if condition == nil or condition.message == nil or condition.message == "" then
    return ""
  end
  if condition.reason ~= nil and condition.reason ~= "" then
    return condition.reason .. ": " .. condition.message
  end
  return condition.message
end
-- Stalled: Phoenix cannot go on until someone changes something (the message says what).
if stalled ~= nil and stalled.status == "True" then
  return { status = "Degraded", message = say(stalled) }
end
if reconciling ~= nil and reconciling.status == "True" then
  return { status = "Progressing", message = say(reconciling) }
end
if ready == nil then
  return hs
end
if ready.status ~= "True" then
  return { status = "Progressing", message = say(ready) }
end
-- Ready stays True through the controller's own passing trouble (Synced=False): still healthy,
-- but say so, since it turns Ready False if it lasts.
local message = say(ready)
if synced ~= nil and synced.status == "False" then
  message = message .. " (last attempt failed: " .. say(synced) .. ")"
end
-- Observe mode: Phoenix reads and reports but never changes Proxmox or Portainer.
if obj.spec ~= nil and obj.spec.managementPolicy == "Observe" then
  return { status = "Suspended", message = "Observe mode (Phoenix changes nothing): " .. message }
end
return { status = "Healthy", message = message }
