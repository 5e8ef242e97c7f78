/** The part of madge's API test/layout.test.ts uses (madge ships no types). */
declare module 'madge' {
  interface MadgeResult { circular(): string[][] }
  export default function madge(path: string, config?: { fileExtensions?: string[] }): Promise<MadgeResult>;
}
