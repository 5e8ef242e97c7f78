/** The part of native-dns-packet (no published types) src/dns/recursor.ts uses. */
declare module 'native-dns-packet' {
  interface Question { name: string; type: number; class: number }
  interface ResourceRecord { name: string; type: number; class: number; ttl: number; address?: string; data?: unknown }
  class Packet {
    header: { id: number; qr: number; opcode: number; aa: number; tc: number; rd: number; ra: number; rcode: number };
    question: Question[];
    answer: ResourceRecord[];
    authority: ResourceRecord[];
    additional: ResourceRecord[];
    static parse(buf: Buffer): Packet;
    static write(buf: Buffer, packet: Packet): number;
  }
  export default Packet;
}
