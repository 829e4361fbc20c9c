"""Unit tests of the pure parts of telephony: digest, SIP reading, SDP, RTP payloads, audio, events."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import pyVoIP.VoIP  # noqa: F401  # first: importing pyVoIP.SIP alone is a circular-import error
from pyVoIP import RTP, SIP

from telephony import audio
from telephony.events import CallEnded, CallOffered, Dtmf, event_from_dict
from telephony.redact import mask_number, redact_processor, redact_text
from telephony.sip import dialog, digest, message, sdp
from telephony.sip.client import granted_expiry, refresh_delay
from telephony.sip.config import FIXES, DtmfMode, SipConfig
from telephony.sip.phone import offer_payloads, our_payloads
from telephony.sip.rtp import HotlineRTPClient, parse_telephone_event, telephone_event_packets

INVITE = (
    b"INVITE sip:1001@127.0.0.1:5070 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKb\r\n"
    b'f: "Citizen" <sip:13800138000@127.0.0.1>;tag=abc\r\n'
    b"t: <sip:1001@127.0.0.1>\r\n"
    b"i: call-1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"m: <sip:13800138000@127.0.0.1:5062>\r\n"
    b"Supported:\r\n"
    b"c: application/sdp\r\n"
    b"l: 150\r\n\r\n"
)
SDP = (
    b"v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtpmap:96 opus/48000\r\n"
    b"a=sendonly\r\n"
)


def invite() -> bytes:
    head = INVITE.replace(b"l: 150", f"l: {len(SDP)}".encode())
    return head + SDP


# -- digest --------------------------------------------------------------------------------------
def test_digest_rfc2617_vector_with_qop() -> None:
    ch = digest.Challenge("testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093", qop=("auth",))
    got = digest.digest_response(ch, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", 1, "0a4f113b")
    assert got == "6629fae49393a05397450978507c4ef1"


def test_challenge_with_qop_list_and_authorization_value() -> None:
    ch = digest.parse_challenge(
        'Digest realm="pbx", nonce="n1", qop="auth,auth-int", opaque="o", algorithm=MD5'
    )
    assert ch.qop == ("auth", "auth-int") and ch.opaque == "o"
    value = digest.authorization_value(ch, "REGISTER", "sip:pbx", "1001", "pw", cnonce="c0")
    assert "qop=auth" in value and "nc=00000001" in value and 'cnonce="c0"' in value and 'opaque="o"' in value
    plain = digest.authorization_value(ch, "REGISTER", "sip:pbx", "1001", "pw", use_qop=False)
    assert "qop" not in plain


def test_challenge_without_nonce_is_refused() -> None:
    with pytest.raises(ValueError):
        digest.parse_challenge('Digest realm="x"')


# -- SIP reading -------------------------------------------------------------------------------------
def test_parse_expands_compact_forms_splits_vias_and_keeps_empty_values() -> None:
    msg = message.parse(invite(), ("127.0.0.1", 5060))
    assert msg.method == "INVITE" and msg.call_id == "call-1" and msg.cseq == (1, "INVITE")
    assert len(msg.get_all("via")) == 2
    assert msg.get("supported") == ""
    assert message.user_and_display(msg.get("from") or "") == ("13800138000", "Citizen")


def test_rewritten_message_is_readable_by_pyvoip() -> None:
    with pytest.raises(IndexError):
        SIP.SIPMessage(invite().replace(b"f: ", b"From: ").replace(b"t: ", b"To: "))  # the 1.6.8 defect
    pm = SIP.SIPMessage(message.for_pyvoip(message.parse(invite())))
    assert pm.method == "INVITE" and pm.headers["Call-ID"] == "call-1"
    assert pm.headers["From"]["number"] == "13800138000"
    assert len(pm.headers["Via"]) == 2
    assert [m["port"] for m in pm.body["m"]] == [6000]


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe garbage\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n",  # missing From/To/Call-ID/CSeq
        invite().replace(f"l: {len(SDP)}".encode(), b"l: 9999"),  # Content-Length past the end
        invite().replace(f"l: {len(SDP)}".encode(), b"l: -1"),
        b"INVITE sip:x SIP/2.0\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP \xc3\x28\r\n\r\n",  # not UTF-8
        b"no end of headers",
        invite().replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"),
    ],
)
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(message.SipSyntaxError):
        message.parse(data)


def test_unknown_method_parses_for_a_405() -> None:
    msg = message.parse(invite().replace(b"INVITE sip", b"FOOBAR sip").replace(b"1 INVITE", b"1 FOOBAR"))
    resp = message.build_response(msg, 405, "Method Not Allowed", extra=[("Allow", "INVITE")])
    assert resp.startswith(b"SIP/2.0 405 Method Not Allowed\r\n")
    assert resp.count(b"Via: ") == 2 and b"CSeq: 1 FOOBAR" in resp


def test_response_gets_our_to_tag_once() -> None:
    msg = message.parse(invite())
    resp = message.parse(message.build_response(msg, 180, "Ringing", to_tag="t1"))
    assert resp.status == 180 and resp.get(
        "to",
    ).endswith(";tag=t1")  # type: ignore[union-attr]
    again = message.build_response(
        message.parse(message.build_response(msg, 180, "R", to_tag="t1")), 200, "OK", to_tag="t2"
    )
    assert b"tag=t2" not in again


def test_granted_expiry_prefers_our_contact_binding() -> None:
    resp = message.parse(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\n"
        b"Call-ID: c\r\nCSeq: 2 REGISTER\r\n"
        b"Contact: <sip:1001@10.0.0.1:5070>;expires=60, <sip:1001@127.0.0.1:5070;transport=udp>;expires=20\r\n"
        b"Expires: 3600\r\nContent-Length: 0\r\n\r\n"
    )
    assert granted_expiry(resp, "sip:1001@127.0.0.1:5070", 300) == 20
    assert granted_expiry(resp, "sip:1001@127.0.0.9:5070", 300) == 3600
    assert refresh_delay(20) == 10 and refresh_delay(3600) == 3540 and refresh_delay(1) == 1


# -- SDP -----------------------------------------------------------------------------------------
def test_sdp_first_g711_direction_and_names() -> None:
    offer = sdp.parse_audio(SDP)
    assert offer is not None
    assert offer.port == 6000 and offer.address == "127.0.0.1"
    assert offer.first_g711() == "PCMA" and offer.on_hold
    assert offer.codec_names() == ["PCMA", "PCMU", "TELEPHONE-EVENT"]
    only_opus = sdp.parse_audio(SDP.replace(b"8 0 101", b"96"))
    assert only_opus is not None and only_opus.first_g711() is None
    assert sdp.parse_audio(b"v=0\r\nm=video 5 RTP/AVP 96\r\n") is None


# -- RTP -------------------------------------------------------------------------------------------
def _client(
    assoc: dict[int, RTP.PayloadType], disabled: frozenset[str] = frozenset(), dtmf_mode: DtmfMode = "rfc4733"
) -> HotlineRTPClient:
    cfg = SipConfig(server="127.0.0.1", username="1", password="x", disabled_fixes=disabled)
    return HotlineRTPClient(
        assoc,
        "127.0.0.1",
        1,
        "127.0.0.1",
        2,
        RTP.TransmitType.SENDRECV,
        on_dtmf=lambda d: None,
        next_frame=lambda: audio.SILENCE,
        fix=cfg.fix,
        dtmf_mode=dtmf_mode,
    )


def test_pcma_is_encoded_as_alaw_and_roundtrips_the_tone() -> None:
    frame = audio.tone(440, 0.02)
    fixed = _client({8: RTP.PayloadType.PCMA, 101: RTP.PayloadType.EVENT})
    assert fixed.encode(frame) == audio.alaw_encode(frame)
    assert audio.goertzel_share(audio.alaw_decode(fixed.encode(audio.tone(440, 0.5))), 440) > 0.95
    plain = _client({8: RTP.PayloadType.PCMA}, frozenset({"pcma"}))
    assert plain.encode(frame) == audio.ulaw_encode(frame)  # pyVoIP 1.6.8's defect, kept switchable


def test_telephone_event_bounds() -> None:
    assert parse_telephone_event(bytes([11, 0x8A, 0, 160])) == ("#", True)
    assert parse_telephone_event(bytes([16, 0x0A, 0, 160])) == (None, False)
    assert parse_telephone_event(bytes([255, 0x0A, 0, 160])) == (None, False)
    assert parse_telephone_event(b"\x01") == (None, False)
    with pytest.raises(IndexError):
        parse_telephone_event(bytes([16, 0x0A, 0, 160]), bounded=False)


def test_received_event_counted_once_and_audio_buffer_bounded() -> None:
    digits: list[str] = []
    c = _client({0: RTP.PayloadType.PCMU, 101: RTP.PayloadType.EVENT})
    c.dtmf = digits.append
    for seq, (payload, marker, _) in enumerate(telephone_event_packets("7")):
        c.parse_packet(struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | 101, seq, 5000, 1) + payload)
    assert digits == ["7"]
    pkt = struct.pack(">BBHII", 0x80, 0, 1, 1, 1) + audio.ulaw_encode(audio.tone(1000, 0.02))
    for _ in range(500):
        c.parse_packet(pkt)
    assert len(c.rx) == c.rx.maxlen


def test_dtmf_send_packets_follow_rfc4733() -> None:
    pkts = telephone_event_packets("#")
    assert pkts[0][1] is True and all(not m for _, m, _ in pkts[1:])
    ends = [p for p, _, _ in pkts if p[1] & 0x80]
    assert len(ends) == 3 and all(p[0] == 11 for p, _, _ in pkts)
    durations = [struct.unpack(">H", p[2:4])[0] for p, _, _ in pkts]
    assert durations == sorted(durations)


# -- audio / events / redaction ---------------------------------------------------------------------
def test_wav_roundtrip_resamples_to_8k_mono(tmp_path: Path) -> None:
    import wave

    path = tmp_path / "t.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        mono = audio.tone(500, 0.5)
        stereo = b"".join(mono[i : i + 2] * 2 for i in range(0, len(mono), 2))
        w.writeframes(audio.audioop.ratecv(stereo, 2, 2, 8000, 16000, None)[0])
    pcm = audio.read_wav_pcm16(path)
    assert abs(len(pcm) - 8000) < 200
    assert audio.goertzel_share(pcm, 500) > 0.9
    player = audio.PcmPlayer(pcm)
    frames = list(iter(player.next_frame, None))
    assert all(len(f) == audio.FRAME_BYTES for f in frames) and player.next_frame() is None


def test_events_roundtrip_through_the_wire_form() -> None:
    ev = CallOffered(t=1.5, call_id="c1", caller="13800138000", display_name="王")
    d = ev.to_dict()
    assert d == {
        "event": "call_offered",
        "t": 1.5,
        "call_id": "c1",
        "caller": "13800138000",
        "display_name": "王",
    }
    assert event_from_dict(d, 2.0) == CallOffered(
        t=2.0, call_id="c1", caller="13800138000", display_name="王"
    )
    assert event_from_dict({"event": "call_ended", "call_id": "c", "reason": "cancelled"}, 0) == CallEnded(
        t=0, call_id="c", reason="cancelled"
    )
    assert Dtmf(t=0, call_id="c", digit="5").name == "dtmf"


def test_secrets_and_numbers_are_redacted() -> None:
    text = (
        'REGISTER sip:x\r\nAuthorization: Digest username="1001", response="abc"\r\nX: password=hunter2\r\n'
    )
    out = redact_text(text)
    assert "abc" not in out and "hunter2" not in out and "Authorization: <redacted>" in out
    ev = redact_processor(None, "info", {"password": "pw", "msg": 'cnonce="zz"', "n": 3})
    assert ev == {"password": "<redacted>", "msg": "cnonce=<redacted>", "n": 3}
    assert mask_number("13812345678") == "138****5678"


def test_config_fix_switches() -> None:
    cfg = SipConfig(server="s", username="u", password="p", disabled_fixes=frozenset({"cancel"}))
    assert not cfg.fix("cancel") and cfg.fix("qop")
    assert not SipConfig(server="s", username="u", password="p", disabled_fixes=frozenset({"all"})).fix("qop")
    assert "hunter2" not in repr(SipConfig(server="s", username="u", password="hunter2"))
    assert SipConfig.from_wire(cfg.to_wire()) == cfg
    with pytest.raises(KeyError):
        cfg.fix("nonsense")
    assert set(FIXES) >= {"qop", "cancel", "options", "parser", "ghost", "pcma", "dtmf_bounds", "cleanup"}


def test_our_sdp_reads_back() -> None:
    body = sdp.build_audio_sdp(
        "127.0.0.1", 4000, "7", 9, {8: "PCMA", 0: "PCMU", 101: "telephone-event"}, "sendonly"
    )
    offer = sdp.parse_audio(body)
    assert offer is not None and offer.port == 4000 and offer.direction == "sendonly" and offer.on_hold
    assert offer.codec_names() == ["PCMA", "PCMU", "TELEPHONE-EVENT"]
    assert b"o=hotline 7 9 IN IP4 127.0.0.1" in body and b"a=fmtp:101 0-16" in body
    assert sdp.ANSWER_DIRECTION["sendonly"] == "recvonly"


def test_dialogs_as_uas_and_uac() -> None:
    from telephony.sip import dialog

    inv = message.parse(
        invite().replace(b"CSeq: 1 INVITE", b"Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nCSeq: 1 INVITE")
    )
    uas = dialog.uas_dialog(inv, "ours")
    assert uas.target == "sip:13800138000@127.0.0.1:5062" and uas.routes == ["<sip:p1;lr>", "<sip:p2;lr>"]
    bye = message.parse(uas.request("BYE", 7, "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx"))
    assert bye.method == "BYE" and bye.uri == uas.target and bye.cseq == (7, "BYE")
    assert bye.get("from") == "<sip:1001@127.0.0.1>;tag=ours" and bye.get(
        "to",
    ).endswith("tag=abc")  # type: ignore[union-attr]
    ok = message.parse(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:1001@h>;tag=me\r\nTo: <sip:0301@h>;tag=them\r\n"
        b"Call-ID: c\r\nCSeq: 5 INVITE\r\nContact: <sip:citizen@10.0.0.2:5062>\r\n"
        b"Record-Route: <sip:p1;lr>\r\nRecord-Route: <sip:p2;lr>\r\nContent-Length: 0\r\n\r\n"
    )
    uac = dialog.uac_dialog("<sip:1001@h>;tag=me", ok)
    assert uac.target == "sip:citizen@10.0.0.2:5062" and uac.routes == ["<sip:p2;lr>", "<sip:p1;lr>"]
    ack = message.parse(uac.request("ACK", 5, "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKy"))
    assert ack.get("to") == "<sip:0301@h>;tag=them" and ack.cseq == (5, "ACK")


def test_dtmf_flood_is_capped() -> None:
    digits: list[str] = []
    c = _client({0: RTP.PayloadType.PCMU, 101: RTP.PayloadType.EVENT})
    c.dtmf = digits.append
    for i in range(200):  # 200 distinct events at once
        c.parse_packet(
            struct.pack(">BBHII", 0x80, 0x80 | 101, i, 1000 + 800 * i, 1) + bytes([1, 0x8A, 0, 160])
        )
    assert len(digits) == 10 and c.dropped_dtmf == 190


# -- dialogs and Replaces ----------------------------------------------------------------------------
def test_dialog_tags_option_tags_and_the_replaces_uri() -> None:
    assert dialog.tag_of('"A" <sip:a@h;lr>;tag=abc;x=1') == "abc"
    assert dialog.tag_of("sip:a@h;tag=zz") == "zz" and dialog.tag_of("<sip:a@h>") == ""
    empty = message.parse(invite())  # "Supported:" with no value lists nothing
    assert dialog.option_tags(empty) == frozenset()
    msg = message.parse(invite().replace(b"Supported:\r\n", b"k: Replaces, timer\r\nSupported: 100rel\r\n"))
    uas = dialog.uas_dialog(msg, "ours")
    assert uas.peer_supports == {"replaces", "timer", "100rel"}
    assert (uas.local_tag, uas.remote_tag) == ("ours", "abc")
    # for the peer, to-tag is its own tag (our remote tag); the URI is its address, escaped
    assert uas.replaces_uri() == "sip:13800138000@127.0.0.1?Replaces=call-1%3Bto-tag%3Dabc%3Bfrom-tag%3Dours"


# -- the [sip] settings' pure parts ------------------------------------------------------------------
def test_sip_settings_are_checked_and_cross_the_pipe() -> None:
    cfg = SipConfig(
        server="s",
        username="u",
        password="p",
        codecs=("PCMU",),
        dtmf_mode="inband",
        register_timeout=2.0,
        display_name="席位 7",
    )
    assert SipConfig.from_wire(cfg.to_wire()) == cfg
    for bad in ({"codecs": ()}, {"codecs": ("G729",)}, {"dtmf_mode": "info"}, {"register_timeout": 0}):
        with pytest.raises(ValueError):
            SipConfig(server="s", username="u", password="p", **bad)  # type: ignore[arg-type]


def test_our_codec_order_decides_offer_and_answer() -> None:
    offered = {0: RTP.PayloadType.PCMU, 8: RTP.PayloadType.PCMA, 101: RTP.PayloadType.EVENT}
    base = SipConfig(server="s", username="u", password="p")
    assert list(our_payloads(base, offered)) == [8, 0, 101]  # PCMA first by default
    pcmu = SipConfig(server="s", username="u", password="p", codecs=("PCMU", "PCMA"))
    assert list(our_payloads(pcmu, offered)) == [0, 8, 101]
    only_a = SipConfig(server="s", username="u", password="p", codecs=("PCMA",), dtmf_mode="inband")
    assert list(our_payloads(only_a, offered)) == [8]  # inband: no telephone-event either
    assert list(offer_payloads(pcmu)) == [0, 8, 101] and list(offer_payloads(only_a)) == [8]
    offer = sdp.parse_audio(SDP)
    assert offer is not None
    assert offer.best_codec(("PCMU", "PCMA")) == "PCMU" and offer.best_codec(("PCMA",)) == "PCMA"
    assert sdp.AudioOffer("h", 1, ("0",)).best_codec(("PCMA",)) is None


def test_display_names_are_quoted() -> None:
    assert message.format_name_addr("", "sip:1@h") == "<sip:1@h>"
    assert message.format_name_addr('市民 "热线" \\', "sip:1@h") == '"市民 \\"热线\\" \\\\" <sip:1@h>'
    caller, display = message.user_and_display(message.format_name_addr("Desk 7", "sip:1001@h") + ";tag=x")
    assert (caller, display) == ("1001", "Desk 7")


def test_inband_dtmf_is_made_and_recognised_once_per_key() -> None:
    keys = "0123456789*#ABCD"
    gap = bytes(audio.FRAME_BYTES * 4)
    pcm = b"".join(audio.dtmf_tone(k, 0.04) + gap for k in keys)  # 40 ms: ITU-T Q.24 shortest key
    for codec in ((audio.ulaw_encode, audio.ulaw_decode), (audio.alaw_encode, audio.alaw_decode)):
        detector = audio.DtmfDetector()
        heard = [d for f in audio.frames(codec[1](codec[0](pcm))) for d in detector.feed(f)]
        assert "".join(heard) == keys
    held = audio.DtmfDetector()  # one long press is one digit
    assert [d for f in audio.frames(audio.dtmf_tone("5", 1.0)) for d in held.feed(f)] == ["5"]
    quiet = audio.DtmfDetector()  # single tones, speech-like pairs of non-DTMF tones, silence: nothing
    noise = audio.tone(1000, 0.5) + audio.tone(697, 0.5) + audio.tone(440, 0.5) + bytes(4000)
    assert [d for f in audio.frames(noise) for d in quiet.feed(f)] == []


def test_inband_rtp_client_reads_tones_and_ignores_events() -> None:
    digits: list[str] = []
    c = _client({0: RTP.PayloadType.PCMU}, dtmf_mode="inband")
    c.dtmf = digits.append
    ulaw = audio.ulaw_encode(audio.dtmf_tone("7", 0.1) + bytes(audio.FRAME_BYTES * 4))
    for i in range(0, len(ulaw), audio.FRAME_SAMPLES):
        c.parse_packet(struct.pack(">BBHII", 0x80, 0, i, i, 1) + ulaw[i : i + audio.FRAME_SAMPLES])
    assert digits == ["7"]
    with pytest.raises(RTP.RTPParseError):  # telephone-event was not negotiated
        c.parse_packet(struct.pack(">BBHII", 0x80, 0x80 | 101, 1, 1, 1) + bytes([1, 0x8A, 0, 160]))


def test_worker_control_messages_are_apart_from_events() -> None:
    from telephony.events import Event
    from telephony.sip.wire import Control

    assert not isinstance(Control("pong"), Event)
    assert Control("log", {"event": "x", "n": 1}).record == {"event": "x", "n": 1}
    assert CallEnded(call_id="c").t == 0.0  # built in the worker; the host stamps t on receipt
