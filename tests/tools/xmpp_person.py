#!/usr/bin/python3
"""A real XMPP client (slixmpp) acting as a person in one MUC room, driven by JSON lines.

Usage: xmpp_person.py JID PASSWORD HOST PORT ROOM NICK
stdin : {"cmd":"say","body":"..."} [optional "id", optional "oob": a URL sent as XEP-0066 out-of-band data,
        optional "thread" (XEP-0201), "reply_id" (XEP-0461), "references": [{"uri","begin","end"}] (XEP-0372 mentions)],
        {"cmd":"correct","id":"<id of own message>","body":"..."},
        {"cmd":"react","id":"<stanza-id of a message>","key":"<emoji>"} [optional "new_id"] (XEP-0444; or "keys":[..], the
        person's whole set for that message, empty to take every reaction back),
        {"cmd":"retract","id":"<stanza-id of own message>"} [optional "new_id"] (XEP-0424, with the fallback body),
        {"cmd":"chat","to":"<jid>","body":"...","replace":<id>?,"retract":<id>?} (a one-to-one chat message, correction or retraction), {"cmd":"nick","nick":"..."} (a nick change in the room, XEP-0045 7.6), {"cmd":"quit"},
        {"cmd":"avatar","id":..,"path":..,"type":..} (XEP-0153: the picture in our vCard, its SHA-1 in our room presence;
            no path: the picture removed, an empty photo element),
        {"cmd":"vcard","id":..,"nick":..} (asks an occupant's vCard through the room),
        {"cmd":"chatstate","state":"composing"|"paused"} (XEP-0085 in the room, no body)
stdout: {"event":"joined","nick":..} once in the room; {"event":"presence","nick":..,"type":"available"|"unavailable",
        "self":bool,"codes":[..]} for every occupant presence; one line per groupchat message received:
        {"event":"message","from_nick":..,"body":..,"bodies":{lang: body},"id":..,"stanza_id":..,"delayed":bool,"replace_id":..,
        "thread":..,"reply_id":..,"references":[{"type","uri","begin","end"}]}
        {"event":"reaction","from_nick":..,"id":<id reacted to>,"keys":[..]} for each XEP-0444 reactions message,
        {"event":"retract","from_nick":..,"id":<id retracted>} for each XEP-0424 retraction received,
        {"event":"chatstate","from_nick":..,"state":..} for each bodyless chat-state message in the room,
        {"event":"sent","id":..} after each say, correct, react or retract, {"event":"error",...} on errors;
        {"event":"private","from":..,"from_nick":..,"body":..,"type":..,"id":..,"replace_id":..,"retract_id":..} for each
        chat/normal message with a body (MUC private messages, such as the bridge bot's notices; from_nick is set when it
        came from an occupant of our room; replace_id and retract_id name the message an XEP-0308 correction or XEP-0424
        retraction is about).
Must run with Debian's /usr/bin/python3 (the only one that can import slixmpp).
"""
import asyncio
import json
import urllib.request
import os
import sys
import threading
import uuid

import slixmpp
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_SID = "urn:xmpp:sid:0"
NS_DELAY = "urn:xmpp:delay"
NS_CORRECT = "urn:xmpp:message-correct:0"
NS_REACTIONS = "urn:xmpp:reactions:0"
NS_OOB = "jabber:x:oob"
NS_UPLOAD = "urn:xmpp:http:upload:0"
NS_HINTS = "urn:xmpp:hints"
NS_REPLY = "urn:xmpp:reply:0"
NS_REFERENCE = "urn:xmpp:reference:0"
NS_RETRACT = "urn:xmpp:message-retract:1"
NS_FALLBACK = "urn:xmpp:fallback:0"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Person(slixmpp.ClientXMPP):
    def __init__(self, jid, password, room, nick):
        super().__init__(jid, password)
        self.room = room
        self.nick = nick
        self.joined = False
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("message", self.on_private)
        self.add_event_handler("presence_available", self.on_presence)
        self.add_event_handler("presence_error", self.on_presence)
        self.add_event_handler("presence_unavailable", self.on_presence)
        self.add_event_handler("disconnected", lambda _e: emit({"event": "disconnected"}))
        self.register_handler(Callback("ChatStates", MatchXPath("{jabber:client}message/{http://jabber.org/protocol/chatstates}*"), self.on_chatstate))
        self.register_handler(Callback("Reactions", MatchXPath("{jabber:client}message/{%s}reactions" % NS_REACTIONS), self.on_reactions))

    async def on_start(self, _event):
        self.send_presence()
        pres = self.make_presence(pto="%s/%s" % (self.room, self.nick))
        x = ET.Element("{http://jabber.org/protocol/muc}x")
        hist = ET.SubElement(x, "{http://jabber.org/protocol/muc}history")
        # XMPP_PERSON_HISTORY: how much room history to ask for (default none, as for someone who never left).
        hist.set("maxstanzas", os.environ.get("XMPP_PERSON_HISTORY", "0"))
        pres.append(x)
        pres.send()

    def on_presence(self, pres):
        if pres["from"].bare != self.room:
            return
        if pres["type"] == "error":
            emit({"event": "error", "where": "join", "condition": pres["error"]["condition"]})
            return
        x = pres.xml.find("{%s}x" % NS_MUC_USER)
        if x is None:
            return
        codes = {s.get("code") for s in x.findall("{%s}status" % NS_MUC_USER)}
        update = pres.xml.find("{vcard-temp:x:update}x")
        if pres["from"].resource and update is not None and update.find("{vcard-temp:x:update}photo") is not None:
            emit({"event": "photo", "nick": pres["from"].resource, "hash": update.findtext("{vcard-temp:x:update}photo") or ""})
        if pres["from"].resource:
            emit({"event": "presence", "nick": pres["from"].resource,
                  "type": "unavailable" if pres["type"] == "unavailable" else "available",
                  "self": "110" in codes, "codes": sorted(c for c in codes if c)})
        if "110" not in codes or pres["type"] == "unavailable":
            return
        if "201" in codes:
            # We created a locked room: accept the default configuration (XEP-0045 10.1.2 instant room).
            iq = self.make_iq_set(ito=self.room)
            q = ET.Element("{http://jabber.org/protocol/muc#owner}query")
            form = ET.SubElement(q, "{jabber:x:data}x")
            form.set("type", "submit")
            iq.append(q)
            iq.send()
        if not self.joined:
            self.joined = True
            emit({"event": "joined", "nick": pres["from"].resource})

    def on_groupchat(self, msg):
        if msg["type"] != "groupchat":
            return
        retract = msg.xml.find("{%s}retract" % NS_RETRACT)
        if retract is not None:
            # Reported as a retraction, and (below) as the message its fallback body makes for clients without XEP-0424.
            emit({"event": "retract", "from_nick": msg["from"].resource, "id": retract.get("id")})
        if not msg["body"] or msg.xml.find("{%s}reactions" % NS_REACTIONS) is not None:
            return  # reactions are reported by on_reactions
        sid = None
        for el in msg.xml.findall("{%s}stanza-id" % NS_SID):
            if el.get("by") == self.room:
                sid = el.get("id")
        replace = msg.xml.find("{%s}replace" % NS_CORRECT)
        reply = msg.xml.find("{%s}reply" % NS_REPLY)
        # RFC 6121 5.2.3: one <body/> per language; a body without xml:lang is in the stanza's language.
        xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
        stanza_lang = msg.xml.get(xml_lang) or msg["lang"] or ""
        bodies = {}
        for el in msg.xml.findall("{jabber:client}body"):
            bodies[el.get(xml_lang) or stanza_lang] = el.text or ""
        emit({
            "event": "message",
            "from_nick": msg["from"].resource,
            "body": msg["body"],
            "bodies": bodies,
            "id": msg["id"] or None,
            "stanza_id": sid,
            "delayed": msg.xml.find("{%s}delay" % NS_DELAY) is not None,
            "replace_id": replace.get("id") if replace is not None else None,
            "oob": [u.text or "" for x in msg.xml.findall("{%s}x" % NS_OOB) for u in x.findall("{%s}url" % NS_OOB)],
            "thread": msg.xml.findtext("{jabber:client}thread"),
            "reply_id": reply.get("id") if reply is not None else None,
            "references": [{"type": r.get("type"), "uri": r.get("uri"), "begin": r.get("begin"), "end": r.get("end")}
                           for r in msg.xml.findall("{%s}reference" % NS_REFERENCE)],
        })

    def on_chatstate(self, msg):
        if msg["type"] != "groupchat" or msg["from"].bare != self.room or msg.xml.find("{jabber:client}body") is not None:
            return
        for el in msg.xml:
            if el.tag.startswith("{http://jabber.org/protocol/chatstates}"):
                emit({"event": "chatstate", "from_nick": msg["from"].resource, "state": el.tag.split("}")[1]})

    def on_reactions(self, msg):
        # slixmpp's own message events need a <body/>; XEP-0444 reactions have none, so they get their own handler.
        reactions = msg.xml.find("{%s}reactions" % NS_REACTIONS)
        if msg["type"] != "groupchat" or reactions is None or msg["from"].bare != self.room:
            return
        emit({
            "event": "reaction",
            "from_nick": msg["from"].resource,
            "id": reactions.get("id"),
            "keys": [r.text or "" for r in reactions.findall("{%s}reaction" % NS_REACTIONS)],
        })

    def on_private(self, msg):
        if msg["type"] not in ("chat", "normal") or not msg["body"]:
            return
        sender = msg["from"]
        emit({
            "event": "private",
            "from": str(sender),
            "from_nick": sender.resource if sender.bare == self.room else None,
            "body": msg["body"],
            "type": msg["type"],
            "id": msg["id"],
            "replace_id": (msg.xml.find("{%s}replace" % NS_CORRECT).get("id") if msg.xml.find("{%s}replace" % NS_CORRECT) is not None else None),
            "retract_id": (msg.xml.find("{%s}retract" % NS_RETRACT).get("id") if msg.xml.find("{%s}retract" % NS_RETRACT) is not None else None),
        })

    def handle_command(self, cmd):
        kind = cmd.get("cmd")
        if kind == "quit":
            self.disconnect()
            return
        if kind in ("say", "correct"):
            msg = self.make_message(mto=self.room, mbody=cmd["body"], mtype="groupchat")
            msg["id"] = cmd.get("new_id") or cmd.get("id") if kind == "say" else (cmd.get("new_id") or uuid.uuid4().hex)
            if not msg["id"]:
                msg["id"] = uuid.uuid4().hex
            if kind == "correct":
                r = ET.Element("{%s}replace" % NS_CORRECT)
                r.set("id", cmd["id"])
                msg.append(r)
            if cmd.get("thread"):
                ET.SubElement(msg.xml, "{jabber:client}thread").text = cmd["thread"]
            if cmd.get("reply_id"):
                r = ET.Element("{%s}reply" % NS_REPLY)
                r.set("id", cmd["reply_id"])
                msg.append(r)
            for ref in cmd.get("references") or []:
                r = ET.Element("{%s}reference" % NS_REFERENCE)
                r.set("type", "mention")
                r.set("uri", ref["uri"])
                r.set("begin", str(ref["begin"]))
                r.set("end", str(ref["end"]))
                msg.append(r)
            if cmd.get("oob"):
                x = ET.Element("{%s}x" % NS_OOB)
                ET.SubElement(x, "{%s}url" % NS_OOB).text = cmd["oob"]
                msg.append(x)
            msg.send()
            emit({"event": "sent", "id": msg["id"]})
            return
        if kind == "chat":
            # A one-to-one chat message to any JID (a puppet of the bridge), as a client's direct chat sends it.
            msg = self.make_message(mto=cmd["to"], mbody=cmd["body"], mtype="chat")
            msg["id"] = cmd.get("id") or uuid.uuid4().hex
            # An XEP-0308 correction or XEP-0424 retraction of one of our chat messages, as a client's direct chat sends it.
            if cmd.get("replace"):
                r = ET.Element("{%s}replace" % NS_CORRECT)
                r.set("id", cmd["replace"])
                msg.append(r)
            if cmd.get("retract"):
                r = ET.Element("{%s}retract" % NS_RETRACT)
                r.set("id", cmd["retract"])
                msg.append(r)
                f = ET.Element("{%s}fallback" % NS_FALLBACK)
                f.set("for", NS_RETRACT)
                msg.append(f)
            msg.send()
            emit({"event": "sent", "id": msg["id"]})
            return
        if kind == "react":
            msg = self.make_message(mto=self.room, mtype="groupchat")
            msg["id"] = cmd.get("new_id") or uuid.uuid4().hex
            r = ET.Element("{%s}reactions" % NS_REACTIONS)
            r.set("id", cmd["id"])
            for key in cmd["keys"] if "keys" in cmd else [cmd["key"]]:
                ET.SubElement(r, "{%s}reaction" % NS_REACTIONS).text = key
            msg.append(r)
            msg.append(ET.Element("{%s}store" % NS_HINTS))
            msg.send()
            emit({"event": "sent", "id": msg["id"]})
            return
        if kind == "retract":
            msg = self.make_message(mto=self.room, mtype="groupchat",
                                    mbody="This person attempted to retract a previous message, but it's unsupported by your client.")
            msg["id"] = cmd.get("new_id") or uuid.uuid4().hex
            r = ET.Element("{%s}retract" % NS_RETRACT)
            r.set("id", cmd["id"])
            msg.append(r)
            f = ET.Element("{%s}fallback" % NS_FALLBACK)
            f.set("for", NS_RETRACT)
            msg.append(f)
            msg.append(ET.Element("{%s}store" % NS_HINTS))
            msg.send()
            emit({"event": "sent", "id": msg["id"]})
            return
        if kind == "upload":
            asyncio.ensure_future(self.upload(cmd))
            return
        if kind == "avatar":
            asyncio.ensure_future(self.set_avatar(cmd))
            return
        if kind == "chatstate":
            msg = self.make_message(mto=self.room, mtype="groupchat")
            msg.append(ET.Element("{http://jabber.org/protocol/chatstates}%s" % cmd["state"]))
            msg.send()
            emit({"event": "sent", "id": cmd.get("id")})
            return
        if kind == "vcard":
            asyncio.ensure_future(self.get_vcard(cmd))
            return
        if kind == "nick":
            # A nick change is a plain presence to the new occupant JID; the room answers with 303 then 110.
            self.nick = cmd["nick"]
            self.make_presence(pto="%s/%s" % (self.room, self.nick)).send()
            return
        emit({"event": "error", "where": "command", "detail": "unknown cmd %r" % kind})

    async def upload(self, cmd):
        # XEP-0363 as a client does it: a slot from the upload service, then an HTTP PUT with the slot's headers.
        try:
            with open(cmd["path"], "rb") as f:
                data = f.read()
            iq = self.make_iq_get(ito=cmd["service"])
            req = ET.Element("{%s}request" % NS_UPLOAD)
            req.set("filename", cmd["filename"])
            req.set("size", str(len(data)))
            req.set("content-type", cmd["content_type"])
            iq.append(req)
            result = await iq.send(timeout=10)
            slot = result.xml.find("{%s}slot" % NS_UPLOAD)
            put = slot.find("{%s}put" % NS_UPLOAD)
            get = slot.find("{%s}get" % NS_UPLOAD)
            headers = {h.get("name"): h.text or "" for h in put.findall("{%s}header" % NS_UPLOAD)}
            headers["Content-Type"] = cmd["content_type"]

            def do_put():
                request = urllib.request.Request(put.get("url"), data=data, method="PUT", headers=headers)
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status

            status = await asyncio.get_event_loop().run_in_executor(None, do_put)
            emit({"event": "uploaded", "id": cmd["id"], "url": get.get("url"), "status": status})
        except Exception as exc:  # reported to the test, which fails with it
            emit({"event": "error", "where": "upload", "detail": repr(exc), "id": cmd.get("id")})


async def _set_avatar(person, cmd):
    # XEP-0153 as a client does it: the photo in our vCard on our server, then its SHA-1 in our room presence.
    try:
        import base64
        import hashlib
        # No path: the picture removed (a vCard without PHOTO, and an empty photo element: "I have none").
        data = None
        if cmd.get("path"):
            with open(cmd["path"], "rb") as f:
                data = f.read()
        iq = person.make_iq_set()
        vcard = ET.Element("{vcard-temp}vCard")
        ET.SubElement(vcard, "{vcard-temp}FN").text = person.nick
        if data is not None:
            photo = ET.SubElement(vcard, "{vcard-temp}PHOTO")
            ET.SubElement(photo, "{vcard-temp}TYPE").text = cmd["type"]
            ET.SubElement(photo, "{vcard-temp}BINVAL").text = base64.b64encode(data).decode("ascii")
        iq.append(vcard)
        await iq.send(timeout=10)
        pres = person.make_presence(pto="%s/%s" % (person.room, person.nick))
        x = ET.Element("{vcard-temp:x:update}x")
        ET.SubElement(x, "{vcard-temp:x:update}photo").text = hashlib.sha1(data).hexdigest() if data is not None else None
        pres.append(x)
        pres.send()
        emit({"event": "sent", "id": cmd["id"]})
    except Exception as exc:
        emit({"event": "error", "where": "avatar", "detail": repr(exc), "id": cmd.get("id")})


async def _get_vcard(person, cmd):
    try:
        import base64
        iq = person.make_iq_get(ito="%s/%s" % (person.room, cmd["nick"]))
        iq.append(ET.Element("{vcard-temp}vCard"))
        result = await iq.send(timeout=10)
        vcard = result.xml.find("{vcard-temp}vCard")
        photo = vcard.find("{vcard-temp}PHOTO") if vcard is not None else None
        emit({"event": "vcard", "id": cmd["id"],
              "fn": vcard.findtext("{vcard-temp}FN") if vcard is not None else None,
              "type": photo.findtext("{vcard-temp}TYPE") if photo is not None else None,
              "data": "".join((photo.findtext("{vcard-temp}BINVAL") or "").split()) if photo is not None else None})
    except Exception as exc:
        emit({"event": "error", "where": "vcard", "detail": repr(exc), "id": cmd.get("id")})


Person.set_avatar = _set_avatar
Person.get_vcard = _get_vcard


def main():
    if len(sys.argv) != 7:
        sys.stderr.write(__doc__)
        sys.exit(2)
    jid, password, host, port, room, nick = sys.argv[1:]
    person = Person(jid, password, room, nick)
    loop = asyncio.get_event_loop()

    def read_stdin():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                cmd = json.loads(line)
            except ValueError as exc:
                emit({"event": "error", "where": "stdin", "detail": str(exc)})
                continue
            loop.call_soon_threadsafe(person.handle_command, cmd)
            if cmd.get("cmd") == "quit":
                return
        loop.call_soon_threadsafe(person.disconnect)

    threading.Thread(target=read_stdin, daemon=True).start()
    person.connect((host, int(port)), force_starttls=False, disable_starttls=True)
    person.add_event_handler("disconnected", lambda _e: loop.stop())
    loop.run_forever()


if __name__ == "__main__":
    main()
