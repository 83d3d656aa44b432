#!/usr/bin/env node
// Test-only Cosmos DB (NoSQL API) emulator: @vercel/cosmosdb-server 1.0.1 over HTTPS,
// with HTTP keep-alive and two fixes the Python SDK needs.
//
// Usage: node launch.js [--port N] [--host H] [--exit-on-stdin-close]
//   port: --port, else $COSMOS_EMULATOR_PORT, else 0 (any free port)
//   host: --host, else $COSMOS_EMULATOR_HOST, else 127.0.0.1 (never all interfaces)
// Prints exactly one machine-readable line on stdout once it accepts connections:
//   LISTENING <port>
// State is in memory only; any key is accepted.
"use strict";

const { AsyncLocalStorage } = require("node:async_hooks");

const LIB = "@vercel/cosmosdb-server/lib";

function parseArgs(argv) {
  const opts = {
    port: Number.parseInt(process.env.COSMOS_EMULATOR_PORT || "0", 10),
    host: process.env.COSMOS_EMULATOR_HOST || "127.0.0.1",
    exitOnStdinClose: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--port" || arg === "-p") opts.port = Number.parseInt(argv[++i], 10);
    else if (arg === "--host") opts.host = argv[++i];
    else if (arg === "--exit-on-stdin-close") opts.exitOnStdinClose = true;
    else usage(`unknown argument: ${arg}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    usage(`invalid port: ${opts.port}`);
  }
  return opts;
}

function usage(problem) {
  process.stderr.write(
    `launch.js: ${problem}\nusage: node launch.js [--port N] [--host H] [--exit-on-stdin-close]\n`,
  );
  process.exit(2);
}

// --- Fix 1: reading a missing item must answer 404 -------------------------------------------
// The stock handler dereferences the (undefined) item while checking partition-key fields and
// answers 500, so the SDK raises a generic HTTP error instead of CosmosResourceNotFoundError.
// routes.js copies each handler's `.default` when it is first loaded, so these patches must be
// applied before anything requires lib/index (or lib/routes).
const readDocument = require(`${LIB}/handler/read-document`);
const pkHeader = require(`${LIB}/utils/get-partition-from-header`);
const stockReadDocument = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  if (collection.read()) {
    let partitionKey;
    try {
      partitionKey = pkHeader.parsePartitionKey(pkHeader.default(req), params.docId);
    } catch {
      // Malformed or absent header: let the stock handler report it as before.
      return stockReadDocument(account, req, res, params);
    }
    if (!collection.document(params.docId, partitionKey).read()) {
      res.statusCode = 404;
      return {
        code: "NotFound",
        message: "Entity with the specified id does not exist in the system.",
      };
    }
  }
  return stockReadDocument(account, req, res, params);
};

// --- Fix 2: batch operations without their own partition key --------------------------------
// The server parses a partition key per batch operation, but the Python SDK sends it only once,
// in the request's x-ms-documentdb-partitionkey header (as real Cosmos DB allows), so every
// non-create operation failed with 500. The batch handler reads the request body itself, so we
// cannot rewrite the operations up front; instead the header is kept in an AsyncLocalStorage for
// the duration of the batch request and the per-operation helpers fall back to it.
const batchDocuments = require(`${LIB}/handler/batch-documents`);
const documentOperations = require(`${LIB}/handler/_document-operations`);
const batchPartitionKey = new AsyncLocalStorage();
const stockBatchDocuments = batchDocuments.default;
batchDocuments.default = (account, req, res, params) =>
  batchPartitionKey.run(pkHeader.default(req), () =>
    stockBatchDocuments(account, req, res, params),
  );
for (const name of ["readOperation", "deleteOperation", "replaceOperation", "upsertOperation"]) {
  const stockOperation = documentOperations[name];
  // batch-documents.js looks these up on the module object at call time, so replacing the
  // export is enough; outside a batch request the store is undefined and nothing changes.
  documentOperations[name] = (collection, input) => {
    const fallback = batchPartitionKey.getStore();
    if (input && input.partitionKey === undefined && fallback !== undefined) {
      return stockOperation(collection, { ...input, partitionKey: fallback });
    }
    return stockOperation(collection, input);
  };
}

// --- Server ------------------------------------------------------------------------------------
function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { createHttpsServer } = require(LIB);
  // keepAlive: the stock CLI answers every request with `connection: close`, which costs a TLS
  // handshake per request (~40 req/s instead of ~1000).
  const server = createHttpsServer({ keepAlive: true });
  // Outlive the clients' idle pools (urllib3 keeps sockets until reuse, aiohttp ~15 s), so a
  // client never reuses a socket the server is closing at the same moment.
  server.keepAliveTimeout = 10 * 60 * 1000;

  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (opts.exitOnStdinClose) {
    // The parent holds our stdin open; if it dies (even by SIGKILL) we see EOF and stop,
    // so a crashed test run never leaves an emulator behind.
    process.stdin.on("end", shutdown);
    process.stdin.on("error", shutdown);
    process.stdin.resume();
  }

  server.on("error", (err) => {
    process.stderr.write(`cosmos emulator: ${err.stack || err}\n`);
    process.exit(1);
  });
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
}

main();
