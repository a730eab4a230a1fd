import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Reading the project's Markdown documents the way a test needs them. */

export const ROOT = path.resolve(__dirname, '..', '..');

export function readDoc(relative: string): string {
  return readFileSync(path.join(ROOT, relative), 'utf8');
}

/** The cells of one table row, trimmed; `|` escaped as `\|` stays inside its cell. */
function cells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

/** Every table of a document: its header cells and the cells of each body row. */
export function tables(markdown: string): Array<{ header: string[]; rows: string[][] }> {
  const found: Array<{ header: string[]; rows: string[][] }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i] as string;
    const next = lines[i + 1] as string;
    if (!line.trim().startsWith('|') || !/^\s*\|[\s|:-]+\|\s*$/.test(next)) continue;
    const table = { header: cells(line), rows: [] as string[][] };
    let j = i + 2;
    for (; j < lines.length && (lines[j] as string).trim().startsWith('|'); j++) {
      table.rows.push(cells(lines[j] as string));
    }
    found.push(table);
    i = j - 1;
  }
  return found;
}

/** The text of the section that starts with this heading, up to the next heading of its level or above. */
export function section(markdown: string, heading: RegExp): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && heading.test(line));
  if (start < 0) throw new Error(`no heading matches ${heading}`);
  const level = /^#+/.exec(lines[start] as string)?.[0].length ?? 1;
  let end = start + 1;
  while (end < lines.length) {
    const match = /^(#{1,6}) /.exec(lines[end] as string);
    if (match && (match[1] as string).length <= level) break;
    end++;
  }
  return lines.slice(start, end).join('\n');
}

/** The fenced code blocks of a document, with their language. */
export function codeBlocks(markdown: string): Array<{ lang: string; code: string }> {
  const blocks: Array<{ lang: string; code: string }> = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(markdown); match; match = fence.exec(markdown)) {
    blocks.push({ lang: match[1] ?? '', code: match[2] ?? '' });
  }
  return blocks;
}

/** Every `` `NAME` `` in a text: the names a document mentions in code spans. */
export function codeSpans(text: string): Set<string> {
  return new Set([...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string));
}
