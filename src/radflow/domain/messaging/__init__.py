"""Patient messaging rules: consent and opt-outs, the daytime window, the caps, the words of a message.

`contact` holds a patient's channels and consent, `rules` decides when a message may go out,
`texts` composes texts and voice scripts and reads replies, `message` is a message's delivery
status. Pure: no I/O, no framework.
"""

from radflow.domain.messaging.contact import Channel, ChannelConsent, ConsentRevoked, ContactPreference
from radflow.domain.messaging.message import Message, MessageEvent, MessageState
from radflow.domain.messaging.rules import (
    Decision,
    DeliveryRequest,
    HoldUntil,
    Purpose,
    SendNow,
    SentNotification,
    Suppress,
    decide,
)
from radflow.domain.messaging.texts import Reply, ReplyIntent, compose_sms, read_reply

__all__ = [
    "Channel", "ChannelConsent", "ConsentRevoked", "ContactPreference", "Decision", "DeliveryRequest",
    "HoldUntil", "Message", "MessageEvent", "MessageState", "Purpose", "Reply", "ReplyIntent", "SendNow",
    "SentNotification", "Suppress", "compose_sms", "decide", "read_reply",
]
