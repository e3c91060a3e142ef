/**
 * A minimal Parquet writer for test fixtures (no Parquet writer is installed and python3 has no
 * pyarrow here): required BYTE_ARRAY (UTF8) and INT64 columns, PLAIN encoding, uncompressed, one
 * data page per column chunk, any number of row groups. Metadata is Thrift compact protocol,
 * written by hand from the parquet-format spec.
 */

type Value = string | bigint;
export type Column = { name: string; type: 'string' | 'int64'; values: Value[] };

class Compact {
  bytes: number[] = [];
  private lastField: number[] = [0];
  varint(n: bigint): void {
    let v = n;
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v > 0n);
  }
  zigzag(n: number | bigint): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  field(id: number, type: number): void {
    const delta = id - this.lastField[this.lastField.length - 1];
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.lastField[this.lastField.length - 1] = id;
  }
  i32(id: number, v: number): void {
    this.field(id, 5);
    this.zigzag(v);
  }
  i64(id: number, v: number | bigint): void {
    this.field(id, 6);
    this.zigzag(v);
  }
  binary(id: number, s: string): void {
    this.field(id, 8);
    const b = Buffer.from(s, 'utf8');
    this.varint(BigInt(b.length));
    this.bytes.push(...b);
  }
  listHeader(id: number, elementType: number, size: number): void {
    this.field(id, 9);
    if (size < 15) this.bytes.push((size << 4) | elementType);
    else {
      this.bytes.push(0xf0 | elementType);
      this.varint(BigInt(size));
    }
  }
  beginStruct(id?: number): void {
    if (id !== undefined) this.field(id, 12);
    this.lastField.push(0);
  }
  endStruct(): void {
    this.bytes.push(0);
    this.lastField.pop();
  }
}

function pageData(column: Column, values: Value[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (column.type === 'string') {
      const b = Buffer.from(v as string, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      parts.push(len, b);
    } else {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v as bigint);
      parts.push(b);
    }
  }
  return Buffer.concat(parts);
}

/** Builds a Parquet file: `rowGroups` lists the row count of each row group. */
export function buildParquet(columns: Column[], rowGroups: number[]): Buffer {
  const chunks: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const groupMeta: { columns: { offset: number; size: number; count: number }[]; rows: number; bytes: number }[] = [];
  let start = 0;
  for (const rows of rowGroups) {
    const metas = [];
    let groupBytes = 0;
    for (const column of columns) {
      const data = pageData(column, column.values.slice(start, start + rows));
      const header = new Compact();
      header.beginStruct();
      header.i32(1, 0); // DATA_PAGE
      header.i32(2, data.length);
      header.i32(3, data.length);
      header.beginStruct(5); // DataPageHeader
      header.i32(1, rows);
      header.i32(2, 0); // PLAIN
      header.i32(3, 3); // RLE
      header.i32(4, 3);
      header.endStruct();
      header.endStruct();
      const page = Buffer.concat([Buffer.from(header.bytes), data]);
      chunks.push(page);
      metas.push({ offset, size: page.length, count: rows });
      offset += page.length;
      groupBytes += page.length;
    }
    groupMeta.push({ columns: metas, rows, bytes: groupBytes });
    start += rows;
  }
  const meta = new Compact();
  meta.beginStruct();
  meta.i32(1, 1); // version
  meta.listHeader(2, 12, columns.length + 1);
  meta.beginStruct();
  meta.binary(4, 'schema');
  meta.i32(5, columns.length);
  meta.endStruct();
  for (const column of columns) {
    meta.beginStruct();
    meta.i32(1, column.type === 'string' ? 6 : 2); // BYTE_ARRAY / INT64
    meta.i32(3, 0); // REQUIRED
    meta.binary(4, column.name);
    if (column.type === 'string') meta.i32(6, 0); // converted type UTF8
    meta.endStruct();
  }
  meta.i64(3, start);
  meta.listHeader(4, 12, groupMeta.length);
  for (const group of groupMeta) {
    meta.beginStruct();
    meta.listHeader(1, 12, columns.length);
    group.columns.forEach((chunk, c) => {
      meta.beginStruct();
      meta.i64(2, chunk.offset);
      meta.beginStruct(3); // ColumnMetaData
      meta.i32(1, columns[c].type === 'string' ? 6 : 2);
      meta.listHeader(2, 5, 1);
      meta.zigzag(0); // PLAIN
      meta.listHeader(3, 8, 1);
      const name = Buffer.from(columns[c].name);
      meta.varint(BigInt(name.length));
      meta.bytes.push(...name);
      meta.i32(4, 0); // UNCOMPRESSED
      meta.i64(5, chunk.count);
      meta.i64(6, chunk.size);
      meta.i64(7, chunk.size);
      meta.i64(9, chunk.offset);
      meta.endStruct();
      meta.endStruct();
    });
    meta.i64(2, group.bytes);
    meta.i64(3, group.rows);
    meta.endStruct();
  }
  meta.endStruct();
  const footer = Buffer.from(meta.bytes);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.length);
  chunks.push(footer, length, Buffer.from('PAR1'));
  return Buffer.concat(chunks);
}
