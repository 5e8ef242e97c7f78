/**
 * @module memberlist networking (memberlist/net.go): packet ingest (label → decrypt → CRC →
 * compound/compress → message), ping / indirect ping / ack / nack handling, piggybacked sends,
 * and the TCP stream side (push-pull, TCP ping fallback, reliable user messages).
 */
import type { Duplex } from 'node:stream';
import { MemberlistState } from './state.ts';
import type { NodeState, MemberlistDelegate } from './state.ts';
import type { MemberlistConfig } from './config.ts';
import { PROTOCOL } from './config.ts';
import type { Transport } from './transport.ts';
import type { Keyring, EncryptionVersion } from './keyring.ts';
import { encryptPayload, decryptPayload, encryptOverhead } from './keyring.ts';
import { decodeStruct, encode, encodeTyped, ipToBytes, bytesToIp, concat, utf8Bytes, num, str } from './codec.ts';
import {
  MsgType, COMPOUND_OVERHEAD, COMPOUND_HEADER_OVERHEAD, USER_MSG_OVERHEAD, makeCompound,
  decodeCompound, decompressPayload, compressPayload, addCrc, verifyCrc, addLabel, removeLabel,
  encodePing, decodePing, encodeAck, decodeAck, encodeNack, decodeNack, decodeIndirectPing,
  decodeAlive, decodeSuspect, decodeDead, decodePushPullHeader, decodePushNodeState,
  pushPullHeaderBody, pushNodeStateBody, encodeErr,
} from './messages.ts';
import type { Ping, PushNodeState } from './messages.ts';
import { StreamReader, readStreamLabel, readStreamMessage, frameStreamMessage, writeAll } from './stream.ts';
import type { StreamOptions } from './stream.ts';

const MAX_PUSH_PULL_REQUESTS = 128;

interface AckHandler {
  ack: (payload: Uint8Array | null, at: number) => void;
  nack: (() => void) | null;
  timer: NodeJS.Timeout;
}

/** Networking layer of memberlist. */
export class MemberlistNet extends MemberlistState {
  protected readonly transport: Transport;
  readonly keyring: Keyring | null;
  protected seqNo = 0;
  protected readonly ackHandlers = new Map<number, AckHandler>();
  protected pushPullReq = 0;
  protected readonly pending = new Set<NodeJS.Timeout>();

  constructor(config: MemberlistConfig, delegate: MemberlistDelegate, transport: Transport, keyring: Keyring | null) {
    super(config, delegate);
    this.transport = transport;
    this.keyring = keyring;
    transport.setHandlers((buf, addr, port) => this.ingestPacket(buf, addr, port), conn => { void this.handleConn(conn); });
  }

  /** Encryption format: version 1 (no padding) for protocol ≥ 2. */
  protected encryptionVersion(): EncryptionVersion {
    return PROTOCOL.cur >= 2 ? 1 : 0;
  }

  protected streamOpts(): StreamOptions {
    const c = this.config;
    return {
      keyring: this.keyring, encryptionVersion: this.encryptionVersion(), label: c.label, skipInboundLabelCheck: c.skipInboundLabelCheck,
      gossipVerifyIncoming: c.gossipVerifyIncoming, gossipVerifyOutgoing: c.gossipVerifyOutgoing, enableCompression: c.enableCompression,
    };
  }

  /** Address and port announced to peers. */
  advertise(): { addr: string; port: number } {
    return { addr: this.config.advertiseAddr ?? this.transport.localAddr, port: this.config.advertisePort ?? this.transport.localPort };
  }

  protected nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  /** setTimeout tracked for cleanup at shutdown. */
  protected later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => { this.pending.delete(t); fn(); }, ms);
    this.pending.add(t);
    return t;
  }

  protected setAckHandler(seq: number, ack: AckHandler['ack'], nack: AckHandler['nack'], timeoutMs: number, onTimeout?: () => void): void {
    const timer = setTimeout(() => { this.ackHandlers.delete(seq); onTimeout?.(); }, timeoutMs);
    this.ackHandlers.set(seq, { ack, nack, timer });
  }

  // ---------------------------------------------------------------- receive

  /** Entry point for every datagram. */
  protected ingestPacket(raw: Uint8Array, fromAddr: string, fromPort: number): void {
    if (this.shutdownFlag) return;
    let buf = raw;
    let label: string;
    try { ({ buf, label } = removeLabel(buf)); } catch (e) { this.log('error', 'memberlist: bad label header', { err: String(e) }); return; }
    if (this.config.skipInboundLabelCheck) {
      if (label) { this.log('error', 'memberlist: unexpected double packet label header'); return; }
      label = this.config.label;
    }
    if (label !== this.config.label) { this.log('error', 'memberlist: discarding packet with unacceptable label', { label, from: `${fromAddr}:${fromPort}` }); return; }
    if (this.keyring) {
      try {
        buf = decryptPayload(this.keyring.getKeys(), buf, utf8Bytes(label));
      } catch (e) {
        if (this.config.gossipVerifyIncoming) { this.log('error', 'memberlist: decrypt packet failed', { err: String(e), from: `${fromAddr}:${fromPort}` }); return; }
      }
    }
    const checked = verifyCrc(buf);
    if (!checked) { this.log('warn', 'memberlist: got invalid checksum for UDP packet', { from: `${fromAddr}:${fromPort}` }); return; }
    this.handleCommand(checked, fromAddr, fromPort, Date.now());
  }

  protected handleCommand(buf: Uint8Array, fromAddr: string, fromPort: number, at: number): void {
    if (buf.length < 1) { this.log('error', 'memberlist: missing message type byte'); return; }
    const type = buf[0]!;
    const body = buf.subarray(1);
    try {
      switch (type) {
        case MsgType.compound: {
          const { parts, truncated } = decodeCompound(body);
          if (truncated > 0) this.log('warn', 'memberlist: compound request had truncated messages', { truncated });
          for (const p of parts) this.handleCommand(p, fromAddr, fromPort, at);
          return;
        }
        case MsgType.compress: this.handleCommand(decompressPayload(body), fromAddr, fromPort, at); return;
        case MsgType.hasCrc: { const c = verifyCrc(buf); if (c) this.handleCommand(c, fromAddr, fromPort, at); return; }
        case MsgType.ping: this.handlePing(decodePing(decodeStruct(body)), fromAddr, fromPort); return;
        case MsgType.indirectPing: this.handleIndirectPing(body, fromAddr, fromPort); return;
        case MsgType.ack: { const a = decodeAck(decodeStruct(body)); this.invokeAck(a.seqNo, a.payload, at); return; }
        case MsgType.nack: { const n = decodeNack(decodeStruct(body)); this.ackHandlers.get(n.seqNo)?.nack?.(); return; }
        case MsgType.alive: {
          const a = decodeAlive(decodeStruct(body));
          if (a.port === 0) a.port = this.config.bindPort;
          this.aliveNode(a, null, false);
          return;
        }
        case MsgType.suspect: this.suspectNode(decodeSuspect(decodeStruct(body))); return;
        case MsgType.dead: this.deadNode(decodeDead(decodeStruct(body))); return;
        case MsgType.user: if (body.length > 0) this.delegate.notifyMsg(body); return;
        default: this.log('error', 'memberlist: msg type not supported', { type, from: `${fromAddr}:${fromPort}` });
      }
    } catch (e) {
      this.log('error', 'memberlist: failed to handle message', { type, err: String(e), from: `${fromAddr}:${fromPort}` });
    }
  }

  protected invokeAck(seq: number, payload: Uint8Array | null, at: number): void {
    const h = this.ackHandlers.get(seq);
    if (!h) return;
    this.ackHandlers.delete(seq);
    clearTimeout(h.timer);
    h.ack(payload, at);
  }

  protected handlePing(p: Ping, fromAddr: string, fromPort: number): void {
    if (p.node && p.node !== this.config.name) {
      this.log('warn', 'memberlist: got ping for unexpected node', { node: p.node, from: `${fromAddr}:${fromPort}` });
      return;
    }
    const ack = encodeAck({ seqNo: p.seqNo, payload: this.delegate.ackPayload() });
    const [addr, port] = p.sourceAddr && p.sourceAddr.length > 0 && p.sourcePort ? [bytesToIp(p.sourceAddr), p.sourcePort] : [fromAddr, fromPort];
    this.sendMsg(addr, port, ack, p.sourceNode ? this.nodeMap.get(p.sourceNode) ?? null : null);
  }

  protected handleIndirectPing(body: Uint8Array, fromAddr: string, fromPort: number): void {
    const ind = decodeIndirectPing(decodeStruct(body));
    if (ind.port === 0) ind.port = this.config.bindPort;
    const localSeq = this.nextSeqNo();
    const self = this.advertise();
    const ping: Ping = { seqNo: localSeq, node: ind.node, sourceAddr: ipToBytes(self.addr), sourcePort: self.port, sourceNode: this.config.name };
    const [indAddr, indPort] = ind.sourceAddr && ind.sourceAddr.length > 0 && ind.sourcePort ? [bytesToIp(ind.sourceAddr), ind.sourcePort] : [fromAddr, fromPort];
    let nackTimer: NodeJS.Timeout | null = null;
    this.setAckHandler(localSeq, () => {
      if (nackTimer) { clearTimeout(nackTimer); this.pending.delete(nackTimer); }
      this.sendMsg(indAddr, indPort, encodeAck({ seqNo: ind.seqNo, payload: null }), null);
    }, null, this.config.probeTimeoutMs);
    this.sendMsg(bytesToIp(ind.target), ind.port, encodePing(ping), this.nodeMap.get(ind.node) ?? null);
    if (ind.nack) {
      nackTimer = this.later(this.config.probeTimeoutMs, () => {
        this.sendMsg(indAddr, indPort, encodeNack({ seqNo: ind.seqNo }), null);
      });
    }
  }

  // ------------------------------------------------------------------- send

  /** Pending broadcasts (memberlist's, then the delegate's framed as user messages). */
  protected getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    const out = this.broadcasts.getBroadcasts(overhead, limit);
    let used = 0;
    for (const m of out) used += m.length + overhead;
    const avail = limit - used;
    if (avail > overhead + USER_MSG_OVERHEAD) {
      for (const m of this.delegate.getBroadcasts(overhead + USER_MSG_OVERHEAD, avail)) {
        const framed = new Uint8Array(m.length + 1);
        framed[0] = MsgType.user; framed.set(m, 1);
        out.push(framed);
      }
    }
    return out;
  }

  protected packetBudget(): number {
    let avail = this.config.udpBufferSize - COMPOUND_HEADER_OVERHEAD - (this.config.label ? 2 + utf8Bytes(this.config.label).length : 0);
    if (this.keyring && this.config.gossipVerifyOutgoing) avail -= encryptOverhead(this.encryptionVersion());
    return avail;
  }

  /** Sends one message, piggybacking queued broadcasts into a compound when there is room. */
  protected sendMsg(addr: string, port: number, msg: Uint8Array, node: NodeState | null): void {
    const extra = this.getBroadcasts(COMPOUND_OVERHEAD, this.packetBudget() - msg.length);
    this.rawSendMsgPacket(addr, port, node, extra.length === 0 ? msg : makeCompound([msg, ...extra]));
  }

  /** Compression (if smaller), CRC (if the peer speaks protocol 5), encryption, label; then UDP. */
  protected rawSendMsgPacket(addr: string, port: number, node: NodeState | null, msg: Uint8Array): void {
    let out = msg;
    if (this.config.enableCompression) {
      try { const c = compressPayload(out); if (c.length < out.length) out = c; } catch { /* keep plain */ }
    }
    if (node && (node.vsn[1] ?? 0) >= 5) out = addCrc(out);
    if (this.keyring && this.config.gossipVerifyOutgoing) {
      out = encryptPayload(this.encryptionVersion(), this.keyring.getPrimaryKey(), out, utf8Bytes(this.config.label));
    }
    out = addLabel(out, this.config.label);
    this.transport.sendPacket(addr, port, out);
  }

  /** Sends a raw delegate (Serf) message as a user packet, without piggybacking (SendToAddress). */
  sendUserPacket(addr: string, port: number, msg: Uint8Array): void {
    const buf = new Uint8Array(msg.length + 1);
    buf[0] = MsgType.user; buf.set(msg, 1);
    this.rawSendMsgPacket(addr, port, null, buf);
  }

  // ---------------------------------------------------------------- streams

  protected async writeStream(conn: Duplex, msg: Uint8Array, label: string): Promise<void> {
    const framed = frameStreamMessage(msg, this.streamOpts(), label);
    this.transport.countStreamWrite(framed.length);
    await writeAll(conn, framed);
  }

  /** Responder side of a stream connection. */
  protected async handleConn(conn: Duplex): Promise<void> {
    const timer = setTimeout(() => conn.destroy(), this.config.tcpTimeoutMs);
    const r = new StreamReader(conn);
    let label = this.config.label;
    try {
      label = await readStreamLabel(r, this.streamOpts());
      let env;
      try {
        env = await readStreamMessage(r, this.streamOpts(), label);
      } catch (e) {
        this.log('error', 'memberlist: failed to receive', { err: String(e) });
        await this.writeStream(conn, encodeErr(e instanceof Error ? e.message : String(e)), label).catch(() => {});
        return;
      }
      const { type, reader } = env;
      if (type === MsgType.pushPull) {
        if (++this.pushPullReq > MAX_PUSH_PULL_REQUESTS) { this.log('error', 'memberlist: too many pending push/pull requests'); return; }
        try {
          const { join, nodes, userState } = await this.readRemoteState(reader);
          await this.sendLocalState(conn, join, label);
          this.verifyProtocol(nodes);
          this.mergeRemoteState(join, nodes, userState);
        } finally { this.pushPullReq--; }
      } else if (type === MsgType.ping) {
        const p = decodePing(await reader.readStruct());
        if (p.node && p.node !== this.config.name) { this.log('warn', 'memberlist: got stream ping for unexpected node', { node: p.node }); return; }
        await this.writeStream(conn, encodeAck({ seqNo: p.seqNo, payload: null }), label);
      } else if (type === MsgType.user) {
        const h = await reader.readStruct();
        const n = num(h.UserMsgLen);
        if (n > 0) this.delegate.notifyMsg(await reader.readBytes(n));
      } else {
        this.log('error', 'memberlist: received invalid stream msgType', { type });
      }
    } catch (e) {
      if (!this.shutdownFlag) this.log('error', 'memberlist: stream handling failed', { err: String(e) });
    } finally {
      clearTimeout(timer);
      r.detach();
      conn.end();
      setTimeout(() => conn.destroy(), 1000).unref();
    }
  }

  protected async readRemoteState(r: StreamReader): Promise<{ join: boolean; nodes: PushNodeState[]; userState: Uint8Array }> {
    const header = decodePushPullHeader(await r.readStruct());
    const nodes: PushNodeState[] = [];
    for (let i = 0; i < header.nodes; i++) {
      const n = decodePushNodeState(await r.readStruct());
      if (n.port === 0) n.port = this.config.bindPort;
      nodes.push(n);
    }
    const userState = header.userStateLen > 0 ? await r.readBytes(header.userStateLen) : new Uint8Array(0);
    return { join: header.join, nodes, userState };
  }

  protected async sendLocalState(conn: Duplex, join: boolean, label: string): Promise<void> {
    const local = this.localPushState();
    const user = this.delegate.localState(join);
    const parts = [Uint8Array.of(MsgType.pushPull), encode(pushPullHeaderBody({ nodes: local.length, userStateLen: user.length, join }))];
    for (const n of local) parts.push(encode(pushNodeStateBody(n)));
    parts.push(user);
    await this.writeStream(conn, concat(parts), label);
  }

  protected mergeRemoteState(join: boolean, nodes: PushNodeState[], userState: Uint8Array): void {
    this.mergeState(nodes);
    if (userState.length > 0) this.delegate.mergeRemoteState(userState, join);
  }

  /** Dials, sends our state, reads theirs. */
  protected async sendAndReceiveState(addr: string, port: number, join: boolean): Promise<{ nodes: PushNodeState[]; userState: Uint8Array }> {
    const conn = await this.transport.dialStream(addr, port, this.config.tcpTimeoutMs);
    const timer = setTimeout(() => conn.destroy(new Error('push/pull timed out')), this.config.tcpTimeoutMs);
    const r = new StreamReader(conn);
    try {
      if (this.config.label) await writeAll(conn, addLabel(new Uint8Array(0), this.config.label));
      await this.sendLocalState(conn, join, this.config.label);
      const { type, reader } = await readStreamMessage(r, this.streamOpts(), this.config.label);
      if (type === MsgType.err) throw new Error(`remote error: ${str((await reader.readStruct()).Error)}`);
      if (type !== MsgType.pushPull) throw new Error(`received invalid msgType (${type}), expected pushPullMsg (${MsgType.pushPull})`);
      const { nodes, userState } = await this.readRemoteState(reader);
      return { nodes, userState };
    } finally {
      clearTimeout(timer);
      r.detach();
      conn.destroy();
    }
  }

  /** Full state exchange with one peer, then merge (join = true for a join). */
  protected async pushPullNode(addr: string, port: number, join: boolean): Promise<void> {
    const { nodes, userState } = await this.sendAndReceiveState(addr, port, join);
    this.verifyProtocol(nodes);
    this.mergeRemoteState(join, nodes, userState);
  }

  /** TCP fallback probe: true if the peer acked before `deadline` (epoch ms). */
  protected async sendPingAndWaitForAck(addr: string, port: number, ping: Ping, deadline: number): Promise<boolean> {
    let conn: Duplex;
    try { conn = await this.transport.dialStream(addr, port, deadline - Date.now()); } catch { return false; }
    const timer = setTimeout(() => conn.destroy(), Math.max(1, deadline - Date.now()));
    const r = new StreamReader(conn);
    try {
      if (this.config.label) await writeAll(conn, addLabel(new Uint8Array(0), this.config.label));
      await this.writeStream(conn, encodePing(ping), this.config.label);
      const { type, reader } = await readStreamMessage(r, this.streamOpts(), this.config.label);
      if (type !== MsgType.ack) throw new Error(`unexpected msgType (${type}) from ping`);
      const ack = decodeAck(await reader.readStruct());
      if (ack.seqNo !== ping.seqNo) throw new Error(`sequence number from ack (${ack.seqNo}) doesn't match ping (${ping.seqNo})`);
      return true;
    } catch (e) {
      this.log('debug', 'memberlist: TCP ping failed', { err: String(e) });
      return false;
    } finally {
      clearTimeout(timer);
      r.detach();
      conn.destroy();
    }
  }

  /** Sends a reliable user message over TCP (memberlist SendReliable). */
  async sendReliable(addr: string, port: number, msg: Uint8Array): Promise<void> {
    const conn = await this.transport.dialStream(addr, port, this.config.tcpTimeoutMs);
    try {
      if (this.config.label) await writeAll(conn, addLabel(new Uint8Array(0), this.config.label));
      await this.writeStream(conn, concat([encodeTyped(MsgType.user, { UserMsgLen: msg.length }), msg]), this.config.label);
    } finally { conn.end(); }
  }
}
