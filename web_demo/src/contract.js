// model_contract.json (fomm_tf/export/contract.py, schema fomm_tf/export/contract.schema.json): what the
// exporter promises every consumer. The page checks the document, each graph file's size and
// SHA-256, and each compiled graph's inputs/outputs against it before running anything.

export const FORMAT = "fomm-tf/tflite-contract";
export const VERSION = 2;
export const GRAPHS = ["kp_detector", "source_encoder", "generator"];
/** What LiteRT.js can hand to / take from a graph at the JS boundary. */
export const JS_DTYPES = ["float32", "int32", "uint8"];

/** A contract that does not fit the page or its graphs: shown to the user as it is. */
export class ContractError extends Error {
  constructor(message) {
    super(message);
    this.name = "ContractError";
  }
}

const isSize = (s) => Array.isArray(s) && s.length >= 1 && s.every((d) => Number.isInteger(d) && d > 0);

/** Parse and check a contract document (text or object); returns the object. */
export function checkContract(doc) {
  let c = doc;
  if (typeof doc === "string") {
    try {
      c = JSON.parse(doc);
    } catch {
      throw new ContractError("model_contract.json is not valid JSON");
    }
  }
  if (!c || typeof c !== "object" || c.format !== FORMAT) {
    throw new ContractError("model_contract.json is not a fomm-tf TFLite contract");
  }
  if (c.version !== VERSION) {
    throw new ContractError(
      `contract version ${JSON.stringify(c.version)}; this page reads version ${VERSION} ` +
        "(export the model again)",
    );
  }
  if (!isSize(c.image_size) || c.image_size.length !== 2) {
    throw new ContractError("contract: image_size must be [height, width]");
  }
  if (!Number.isInteger(c.num_kp) || c.num_kp < 1) {
    throw new ContractError("contract: num_kp must be a positive integer");
  }
  if (!c.graphs || typeof c.graphs !== "object") throw new ContractError("contract: no graphs");
  for (const name of GRAPHS) {
    const g = c.graphs[name];
    if (!g || typeof g.file !== "string" || !/^[a-z_]+\.tflite$/.test(g.file)) {
      throw new ContractError(`contract: graph ${name} is missing or has no .tflite file`);
    }
    for (const side of ["inputs", "outputs"]) {
      if (!Array.isArray(g[side]) || g[side].length === 0) {
        throw new ContractError(`contract: ${name} has no ${side}`);
      }
      for (const t of g[side]) {
        if (typeof t.name !== "string" || !isSize(t.shape) || typeof t.dtype !== "string") {
          throw new ContractError(`contract: ${name} ${side}: a tensor without name/shape/dtype`);
        }
      }
    }
  }
  const [h, w] = c.image_size;
  const image = c.graphs.kp_detector.inputs.find((t) => t.name === "image");
  if (!image || image.shape.join() !== [1, h, w, 3].join()) {
    throw new ContractError(`contract: kp_detector.image must be [1, ${h}, ${w}, 3]`);
  }
  return c;
}

const sameShape = (a, b) => a.length === b.length && a.every((d, i) => Number(d) === Number(b[i]));

function matchSide(graph, side, entries, details) {
  if (entries.length !== details.length) {
    throw new ContractError(
      `${graph}: the contract lists ${entries.length} ${side}, the graph has ${details.length}`,
    );
  }
  const byName = new Map(details.map((d) => [d.name, d]));
  return entries.map((t) => {
    const d = byName.get(t.tensor_name) ?? details.find((x) => x.index === t.position);
    if (!d) throw new ContractError(`${graph}: no ${side.slice(0, -1)} ${t.name} in the graph`);
    const shape = Array.from(d.shape);
    if (!sameShape(shape, t.shape)) {
      throw new ContractError(
        `${graph}.${t.name}: the contract says shape [${t.shape}], the graph has [${shape}]`,
      );
    }
    if (d.dtype !== t.dtype) {
      throw new ContractError(
        `${graph}.${t.name}: the contract says ${t.dtype}, the graph has ${d.dtype}`,
      );
    }
    if (!JS_DTYPES.includes(t.dtype)) {
      throw new ContractError(`${graph}.${t.name}: ${t.dtype} cannot cross the LiteRT.js boundary`);
    }
    return { ...t, index: d.index, size: t.shape.reduce((a, b) => a * b, 1) };
  });
}

/**
 * Match a compiled graph's tensors (LiteRT.js getInputDetails/getOutputDetails: name, index,
 * dtype, shape) with its contract entry. Returns {inputs, outputs}: the contract tensors with
 * the graph's `index`, in the graph's order. Throws ContractError on any difference.
 */
export function matchGraph(graph, entry, inputDetails, outputDetails) {
  const inputs = matchSide(graph, "inputs", entry.inputs, inputDetails);
  const outputs = matchSide(graph, "outputs", entry.outputs, outputDetails);
  inputs.sort((a, b) => a.index - b.index);
  outputs.sort((a, b) => a.index - b.index);
  return { inputs, outputs };
}

/** Hex SHA-256 of bytes (WebCrypto; null where the page has none, e.g. an insecure origin). */
export async function sha256Hex(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  const digest = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Check a graph file's size and SHA-256 against its contract entry. */
export async function checkGraphBytes(graph, entry, bytes) {
  if (typeof entry.bytes === "number" && bytes.byteLength !== entry.bytes) {
    throw new ContractError(
      `${entry.file}: ${bytes.byteLength} bytes, the contract says ${entry.bytes} ` +
        "(the contract does not belong to these graphs)",
    );
  }
  if (typeof entry.sha256 === "string") {
    const hex = await sha256Hex(bytes);
    if (hex !== null && hex !== entry.sha256) {
      throw new ContractError(
        `${entry.file}: SHA-256 differs from the contract's (the contract does not belong to ` +
          `these graphs)`,
      );
    }
  }
}
