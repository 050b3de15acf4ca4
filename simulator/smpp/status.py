"""The one SMPP command_status registry: every status code with its name and description."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """command_status values from SMPP 3.4 section 5.1.3 (and the 5.0 additions users meet)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF
    # SMPP 5.0 additions
    ESME_RSERTYPUNAUTH = 0xC5
    ESME_RPROHIBITED = 0xC6
    ESME_RSERTYPUNAVAIL = 0xC7
    ESME_RSERTYPDENIED = 0xC8
    ESME_RINVDCS = 0xC9
    ESME_RINVSRCADDRSUBUNIT = 0xCA
    ESME_RINVDSTADDRSUBUNIT = 0xCB
    ESME_RINVBCASTFREQINT = 0xCC
    ESME_RINVBCASTALIAS_NAME = 0xCD
    ESME_RINVBCASTAREAFMT = 0xCE
    ESME_RINVNUMBCAST_AREAS = 0xCF
    ESME_RINVBCASTCNTTYPE = 0xD0
    ESME_RINVBCASTMSGCLASS = 0xD1
    ESME_RBCASTFAIL = 0xD2
    ESME_RBCASTQUERYFAIL = 0xD3
    ESME_RBCASTCANCELFAIL = 0xD4
    ESME_RINVBCAST_REP = 0xD5
    ESME_RINVBCASTSRVGRP = 0xD6
    ESME_RINVBCASTCHANIND = 0xD7

    @property
    def short_name(self) -> str:
        """The name without its ESME_R prefix, as carriers' docs and logs write it (THROTTLED)."""
        return self.name.removeprefix("ESME_R")

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self, self.short_name)


DESCRIPTIONS: dict[Status, str] = {
    Status.ESME_ROK: "No error",
    Status.ESME_RINVMSGLEN: "Message length is invalid",
    Status.ESME_RINVCMDLEN: "Command length is invalid",
    Status.ESME_RINVCMDID: "Invalid command ID",
    Status.ESME_RINVBNDSTS: "Incorrect bind status for given command",
    Status.ESME_RALYBND: "ESME already in bound state",
    Status.ESME_RINVPRTFLG: "Invalid priority flag",
    Status.ESME_RINVREGDLVFLG: "Invalid registered delivery flag",
    Status.ESME_RSYSERR: "System error",
    Status.ESME_RINVSRCADR: "Invalid source address",
    Status.ESME_RINVDSTADR: "Invalid destination address",
    Status.ESME_RINVMSGID: "Message ID is invalid",
    Status.ESME_RBINDFAIL: "Bind failed",
    Status.ESME_RINVPASWD: "Invalid password",
    Status.ESME_RINVSYSID: "Invalid system ID",
    Status.ESME_RCANCELFAIL: "Cancel SM failed",
    Status.ESME_RREPLACEFAIL: "Replace SM failed",
    Status.ESME_RMSGQFUL: "Message queue full",
    Status.ESME_RINVSERTYP: "Invalid service type",
    Status.ESME_RINVNUMDESTS: "Invalid number of destinations",
    Status.ESME_RINVDLNAME: "Invalid distribution list name",
    Status.ESME_RINVDESTFLAG: "Destination flag is invalid (submit_multi)",
    Status.ESME_RINVSUBREP: "Invalid submit with replace request",
    Status.ESME_RINVESMCLASS: "Invalid esm_class field data",
    Status.ESME_RCNTSUBDL: "Cannot submit to distribution list",
    Status.ESME_RSUBMITFAIL: "submit_sm or submit_multi failed",
    Status.ESME_RINVSRCTON: "Invalid source address TON",
    Status.ESME_RINVSRCNPI: "Invalid source address NPI",
    Status.ESME_RINVDSTTON: "Invalid destination address TON",
    Status.ESME_RINVDSTNPI: "Invalid destination address NPI",
    Status.ESME_RINVSYSTYP: "Invalid system_type field",
    Status.ESME_RINVREPFLAG: "Invalid replace_if_present flag",
    Status.ESME_RINVNUMMSGS: "Invalid number of messages",
    Status.ESME_RTHROTTLED: "Throttling error (ESME has exceeded allowed message limits)",
    Status.ESME_RINVSCHED: "Invalid scheduled delivery time",
    Status.ESME_RINVEXPIRY: "Invalid message validity period (expiry time)",
    Status.ESME_RINVDFTMSGID: "Predefined message invalid or not found",
    Status.ESME_RX_T_APPN: "ESME receiver temporary app error code",
    Status.ESME_RX_P_APPN: "ESME receiver permanent app error code",
    Status.ESME_RX_R_APPN: "ESME receiver reject message error code",
    Status.ESME_RQUERYFAIL: "query_sm request failed",
    Status.ESME_RINVOPTPARSTREAM: "Error in the optional part of the PDU body",
    Status.ESME_ROPTPARNOTALLWD: "Optional parameter not allowed",
    Status.ESME_RINVPARLEN: "Invalid parameter length",
    Status.ESME_RMISSINGOPTPARAM: "Expected optional parameter missing",
    Status.ESME_RINVOPTPARAMVAL: "Invalid optional parameter value",
    Status.ESME_RDELIVERYFAILURE: "Delivery failure (data_sm_resp)",
    Status.ESME_RUNKNOWNERR: "Unknown error",
}

# Kannel (and most gateways) retry these and treat every other error as permanent.
TEMPORARY: frozenset[int] = frozenset(
    {Status.ESME_RMSGQFUL, Status.ESME_RTHROTTLED, Status.ESME_RX_T_APPN, Status.ESME_RSYSERR}
)


def parse_status(value: int | str) -> int:
    """Accept 0x58, 88, "0x58", "THROTTLED", "RTHROTTLED" or "ESME_RTHROTTLED" and return the code."""
    if isinstance(value, int):
        return value
    text = value.strip()
    try:
        return int(text, 0)
    except ValueError:
        pass
    key = text.upper()
    for candidate in (key, "ESME_" + key, "ESME_R" + key):
        if candidate in Status.__members__:
            return int(Status[candidate])
    raise ValueError(f"unknown command_status {value!r}")


def status_name(code: int) -> str:
    try:
        return Status(code).name
    except ValueError:
        return f"0x{code:08X}"
