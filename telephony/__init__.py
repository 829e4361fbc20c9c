"""The phone line of the hotline desk (imports nothing of ours, never Textual).

- ``telephony.line.Line``: the one interface: typed events out (``telephony.events``), commands in.
- ``telephony.sip.SipLine``: a real line on pyVoIP 1.6.8, run in a worker process, with each pyVoIP
  defect worked around inside it (``telephony.sip.FIXES``), each proven by a rig test. Its
  ``SipConfig`` carries the ``[sip]`` settings that shape the wire: codec preference (our SDP offer
  and answer), DTMF by RFC 4733 telephone-events or in-band tones, the registration timeout, and
  the display name of our REGISTER and call-backs.
- ``telephony.sim.SimLine``: scripted calls for the demo and the training line.
- ``telephony.audio``: 8 kHz 16-bit PCM frames, G.711, WAV player and recorder, a tone detector.
- ``telephony.device``: the operator's headset (sounddevice/PortAudio, the optional ``audio`` extra,
  imported only when ``SipConfig.audio_device`` is set) as the audio bridge of the answered call.

Transfers: ``blind_transfer`` (REFER to a number) and ``attended_transfer(call, consultation)``
(REFER with ``Replaces`` of the consultation dialog, RFC 5589 §7, when the peer lists ``replaces``
in Supported; otherwise an ``error`` event and nothing changes).
"""
