"""ORM models, one module per table. Importing this package registers every table."""

from trunkline.models.agent import Agent
from trunkline.models.agent_tally import AgentTally
from trunkline.models.base import Base
from trunkline.models.binding import Binding
from trunkline.models.call import Call, CallEvent, CallLease
from trunkline.models.idempotency_key import IdempotencyKey
from trunkline.models.pbx_connector import PbxConnector
from trunkline.models.phone_number import PhoneNumber
from trunkline.models.phone_number_tally import PhoneNumberTally
from trunkline.models.sip_connection import SipConnection, SipConnectionAssignment
from trunkline.models.sip_status import SipStatusEvent
from trunkline.models.sms_message import SmsMessage
from trunkline.models.trunk import Trunk
from trunkline.models.workspace import ApiToken, Workspace

__all__ = [
    "Agent",
    "AgentTally",
    "ApiToken",
    "Base",
    "Binding",
    "Call",
    "CallEvent",
    "CallLease",
    "IdempotencyKey",
    "PbxConnector",
    "PhoneNumber",
    "PhoneNumberTally",
    "SipConnection",
    "SipConnectionAssignment",
    "SipStatusEvent",
    "SmsMessage",
    "Trunk",
    "Workspace",
]
