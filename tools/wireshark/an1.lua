-- Wireshark/tshark dissector for DEC SRC AN1 frames as ulp-emu captures them
-- (pcap LINKTYPE_USER0 = 147; byte layout in an1-layout.md next to this file).
-- Usage: tshark -X lua_script:tools/wireshark/an1.lua -r an1-ws-a.pcap
--
-- The frame is the 20-byte AN1 link header (ulp-emu's model of hw/an1-autonet.md §8.4,
-- big-endian fields) followed by the payload; the hardware CRC is not captured.

local an1 = Proto("an1", "DEC SRC AN1 link (ulp-emu)")

local f_dst_short = ProtoField.uint16("an1.dst_short", "Destination short address", base.HEX)
local f_dst_bqi = ProtoField.uint16("an1.dst_bqi", "Destination BQI", base.DEC)
local f_dst_uid = ProtoField.ether("an1.dst_uid", "Destination UID")
local f_src_uid = ProtoField.ether("an1.src_uid", "Source UID")
local f_type = ProtoField.uint16("an1.type", "Type", base.HEX)
local f_spare = ProtoField.uint16("an1.spare", "Spare (sender's BQI during connection setup)", base.DEC)
an1.fields = { f_dst_short, f_dst_bqi, f_dst_uid, f_src_uid, f_type, f_spare }

local HEADER_BYTES = 20
local ethertypes = DissectorTable.get("ethertype")
local data = Dissector.get("data")

function an1.dissector(tvb, pinfo, tree)
  if tvb:len() < HEADER_BYTES then
    return 0
  end
  pinfo.cols.protocol = "AN1"
  pinfo.cols.src = tostring(tvb(10, 6):ether())
  pinfo.cols.dst = tostring(tvb(4, 6):ether())
  local hdr = tree:add(an1, tvb(0, HEADER_BYTES))
  hdr:add(f_dst_short, tvb(0, 2))
  hdr:add(f_dst_bqi, tvb(2, 2))
  hdr:add(f_dst_uid, tvb(4, 6))
  hdr:add(f_src_uid, tvb(10, 6))
  hdr:add(f_type, tvb(16, 2))
  hdr:add(f_spare, tvb(18, 2))
  local bqi = tvb(2, 2):uint()
  local etype = tvb(16, 2):uint()
  local spare = tvb(18, 2):uint()
  local info = string.format("BQI %d, type 0x%04x, %d bytes", bqi, etype, tvb:len())
  if spare ~= 0 then
    info = info .. string.format(", sender BQI %d", spare)
  end
  pinfo.cols.info = info
  if tvb:len() > HEADER_BYTES then
    local payload = tvb(HEADER_BYTES):tvb()
    local sub = ethertypes:get_dissector(etype)
    if sub ~= nil then
      sub:call(payload, pinfo, tree)
    else
      data:call(payload, pinfo, tree)
    end
  end
  return tvb:len()
end

local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, an1)
