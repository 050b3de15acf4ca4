"""The harness's locustfile: `locust -f loadtests/locustfile.py SmppUser --host smpp://127.0.0.1:2775 ...`.

Pick the user class by name (SmppUser, KannelUser, TwilioUser, InfobipUser, ClickSendUser,
GatewayUser); `carrier-sim loadtest` does this for you. See loadtests/README.md.
"""

from locust import events

from loadtests.hooks import install
from loadtests.http_users import ClickSendUser, GatewayUser, InfobipUser, KannelUser, TwilioUser
from loadtests.shapes import HarnessShape
from loadtests.smpp_user import SmppUser

install(events)

__all__ = ["SmppUser", "GatewayUser", "KannelUser", "TwilioUser", "InfobipUser", "ClickSendUser", "HarnessShape"]
