#!/usr/bin/python3
"""Asks the bridge component a few IQs as a real client and prints one line per answer.

Usage: xmpp_iq.py JID PASSWORD HOST PORT COMPONENT_DOMAIN PUPPET_JID
Prints: disco-component: CATEGORY/TYPE, disco-puppet: CATEGORY/TYPE, ping: ok|CONDITION, unknown: CONDITION|result
"""
import asyncio
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET


class Asker(slixmpp.ClientXMPP):
    def __init__(self, jid, password, component, puppet):
        super().__init__(jid, password)
        self.component = component
        self.puppet = puppet
        self.add_event_handler("session_start", self.on_start)

    async def ask(self, to, payload):
        iq = self.make_iq_get(ito=to)
        iq.append(payload)
        try:
            return await iq.send(timeout=10), None
        except IqError as err:
            return None, err.iq["error"]["condition"]
        except IqTimeout:
            return None, "timeout"

    async def on_start(self, _event):
        for label, to in (("disco-component", self.component), ("disco-puppet", self.puppet)):
            res, err = await self.ask(to, ET.Element("{http://jabber.org/protocol/disco#info}query"))
            if err:
                print("%s: %s" % (label, err))
            else:
                ident = res.xml.find(".//{http://jabber.org/protocol/disco#info}identity")
                print("%s: %s/%s" % (label, ident.get("category"), ident.get("type")))
        res, err = await self.ask(self.puppet, ET.Element("{urn:xmpp:ping}ping"))
        print("ping: %s" % (err or "ok"))
        res, err = await self.ask(self.component, ET.Element("{urn:example:unknown}query"))
        print("unknown: %s" % (err or "result"))
        sys.stdout.flush()
        self.disconnect()


def main():
    jid, password, host, port, component, puppet = sys.argv[1:7]
    asker = Asker(jid, password, component, puppet)
    loop = asyncio.get_event_loop()
    asker.add_event_handler("disconnected", lambda _e: loop.stop())
    asker.connect((host, int(port)), force_starttls=False, disable_starttls=True)
    loop.call_later(30, loop.stop)
    loop.run_forever()


if __name__ == "__main__":
    main()
