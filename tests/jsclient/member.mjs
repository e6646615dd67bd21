// One test member on matrix-js-sdk with its Rust crypto (what Element Web and Element X use),
// driven by pytest through line-delimited JSON: each stdin line is a request
// {"id": n, "op": "...", ...}, each stdout line the answer {"id": n, "ok": true, ...} or
// {"id": n, "ok": false, "error": "..."}. Everything else the SDK says goes to stderr, so
// stdout carries only answers. The crypto store lives in memory: one process is one device.

import { createDecipheriv, createHash } from "node:crypto";
import { createInterface } from "node:readline";

// The SDK logs through loglevel, which writes to console.log/info: send all of it to stderr
// before the SDK is loaded, so nothing but answers reaches stdout.
for (const name of ["log", "info", "debug", "warn", "error", "trace"]) {
    console[name] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

const sdk = await import("matrix-js-sdk");
const cryptoApi = await import("matrix-js-sdk/lib/crypto-api/index.js");
const { logger } = await import("matrix-js-sdk/lib/logger.js");
logger.setLevel(process.env.JSCLIENT_LOG_LEVEL || "warn");

let client = null;
const seen = []; // every timeline message this member received, in order
const waiters = new Set(); // wake-ups for requests waiting on `seen`
const autoJoinFrom = new Set(); // invites from these users are accepted at once

function wake() {
    for (const resolve of waiters) resolve();
    waiters.clear();
}

function isolation(mode) {
    if (mode === "signed") return new cryptoApi.OnlySignedDevicesIsolationMode();
    if (mode === "all") return new cryptoApi.AllDevicesIsolationMode(false);
    throw new Error(`unknown isolation mode ${JSON.stringify(mode)} (all or signed)`);
}

async function describe(event, roomId) {
    const info = event.isEncrypted() ? await client.getCrypto().getEncryptionInfoForEvent(event) : null;
    const content = event.getContent();
    return {
        room_id: roomId,
        event_id: event.getId(),
        sender: event.getSender(),
        type: event.getType(),
        msgtype: content.msgtype ?? null,
        body: typeof content.body === "string" ? content.body : null,
        encrypted: event.isEncrypted(),
        decryption_failure: event.isDecryptionFailure() ? String(event.decryptionFailureReason) : null,
        sender_device: event.isEncrypted() ? (event.getWireContent().device_id ?? null) : null,
        shield_colour: info ? cryptoApi.EventShieldColour[info.shieldColour] : null,
        shield_reason: info && info.shieldReason !== null ? cryptoApi.EventShieldReason[info.shieldReason] : null,
        // An attachment: `file` (an encrypted one, with its key) or `url` (a plain one).
        file: content.file ?? null,
        url: typeof content.url === "string" ? content.url : null,
    };
}

const byEventId = new Map(); // event id -> its entry in `seen`, updated when a late key decrypts it

async function record(event, room) {
    if (event.getType() !== "m.room.message" && event.getType() !== "m.room.encrypted") return;
    if (event.isEncrypted()) await client.decryptEventIfNeeded(event);
    const entry = await describe(event, room.roomId);
    if (byEventId.has(entry.event_id)) return;
    byEventId.set(entry.event_id, entry);
    seen.push(entry);
    wake();
}

async function redescribe(event) {
    // A room key that arrives after its message (as Element, the SDK then decrypts it again).
    const entry = byEventId.get(event.getId());
    if (!entry) return;
    Object.assign(entry, await describe(event, entry.room_id));
    wake();
}

async function until(check, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const found = await check();
        if (found !== undefined && found !== null) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => {
            waiters.add(resolve);
            setTimeout(resolve, Math.min(left, 200));
        });
    }
}

const ops = {
    async start(req) {
        client = sdk.createClient({
            baseUrl: req.homeserver,
            userId: req.user_id,
            accessToken: req.access_token,
            deviceId: req.device_id,
        });
        // In Node there is no IndexedDB; the in-memory store is enough for a member that
        // lives as long as its process.
        await client.initRustCrypto({ useIndexedDB: false });
        client.getCrypto().setDeviceIsolationMode(isolation(req.isolation ?? "all"));
        for (const user of req.auto_join_from ?? []) autoJoinFrom.add(user);
        client.on(sdk.RoomEvent.Timeline, (event, room, toStartOfTimeline) => {
            if (room && !toStartOfTimeline) record(event, room).catch((e) => console.error("record", e));
        });
        client.on(sdk.MatrixEventEvent.Decrypted, (event) => redescribe(event).catch((e) => console.error("redescribe", e)));
        client.on(sdk.RoomMemberEvent.Membership, (event, member) => {
            if (member.userId === client.getUserId() && member.membership === "invite" && autoJoinFrom.has(event.getSender())) {
                client.joinRoom(member.roomId).catch((e) => console.error("auto-join", e));
            }
        });
        const prepared = new Promise((resolve) => {
            client.on(sdk.ClientEvent.Sync, (state) => state === "PREPARED" && resolve());
        });
        await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: false });
        await prepared;
        if (req.cross_signing ?? true) {
            // As Element does on login: the member's own identity, which signs this device.
            // A member who excludes insecure devices cannot send without it.
            await client.getCrypto().bootstrapCrossSigning({
                authUploadDeviceSigningKeys: async (makeRequest) => {
                    try {
                        return await makeRequest(null); // Synapse takes a first upload without auth
                    } catch (e) {
                        const session = e?.data?.session;
                        if (!session) throw e;
                        const identifier = { type: "m.id.user", user: req.user_id };
                        return await makeRequest({ type: "m.login.password", identifier, password: req.password, session });
                    }
                },
            });
        }
        const keys = await client.getCrypto().getOwnDeviceKeys();
        return { device_id: client.getDeviceId(), ed25519: keys.ed25519 };
    },

    async isolation(req) {
        client.getCrypto().setDeviceIsolationMode(isolation(req.mode));
        return {};
    },

    async auto_join_from(req) {
        autoJoinFrom.add(req.user_id);
        for (const room of client.getRooms()) {
            const me = room.getMember(client.getUserId());
            if (me?.membership === "invite" && me.events.member?.getSender() === req.user_id) {
                await client.joinRoom(room.roomId);
            }
        }
        return {};
    },

    async create_room(req) {
        const initial_state = [];
        if (req.encrypted) {
            initial_state.push({ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } });
        }
        const { room_id } = await client.createRoom({
            name: req.name,
            invite: req.invite ?? [],
            preset: "private_chat",
            is_direct: req.direct ?? false,
            initial_state,
        });
        await until(() => client.getRoom(room_id), 20000, `room ${room_id} in sync`);
        return { room_id };
    },

    async join(req) {
        const room = await client.joinRoom(req.room_id);
        return { room_id: room.roomId };
    },

    async wait_member(req) {
        // Joined members, as this member's client sees them (and so as its crypto shares keys).
        await until(
            () => (client.getRoom(req.room_id)?.getMember(req.user_id)?.membership === "join" ? true : null),
            req.timeout_ms ?? 30000,
            `${req.user_id} to join ${req.room_id}`,
        );
        return {};
    },

    async send(req) {
        const { event_id } = await client.sendMessage(req.room_id, { msgtype: req.msgtype ?? "m.text", body: req.body });
        return { event_id };
    },

    async mark() {
        return { mark: seen.length };
    },

    async wait_message(req) {
        // The first decrypted message from `sender` (in `room_id` if given) at index >= `after`
        // whose body contains `contains`; on a timeout the error lists the last messages seen,
        // undecryptable ones with their reason.
        const message = await until(
            () =>
                seen.slice(req.after ?? 0).find(
                    (m) =>
                        m.sender === req.sender &&
                        (req.room_id == null || m.room_id === req.room_id) &&
                        m.decryption_failure === null &&
                        (req.contains == null || (m.body ?? "").includes(req.contains)),
                ),
            req.timeout_ms ?? 20000,
            `a message from ${req.sender} containing ${JSON.stringify(req.contains)}; saw ${JSON.stringify(seen.slice(-6))}`,
        );
        return { message };
    },

    async messages(req) {
        return { messages: seen.slice(req.after ?? 0) };
    },

    async download(req) {
        // An attachment a message carried, as Element fetches it: authenticated media, then
        // (for an encrypted one) AES-CTR with the key the message held, checked against its hash.
        const entry = byEventId.get(req.event_id);
        if (!entry) throw new Error(`no message ${req.event_id} seen`);
        const mxc = entry.file?.url ?? entry.url;
        if (!mxc) throw new Error(`message ${req.event_id} carries no attachment`);
        const [server, mediaId] = mxc.replace("mxc://", "").split("/");
        const base = client.baseUrl.replace(/\/$/, "");
        let response = await fetch(`${base}/_matrix/client/v1/media/download/${server}/${mediaId}`, {
            headers: { Authorization: `Bearer ${client.getAccessToken()}` },
        });
        if (response.status === 404) response = await fetch(`${base}/_matrix/media/v3/download/${server}/${mediaId}`);
        if (!response.ok) throw new Error(`download of ${mxc}: HTTP ${response.status}`);
        const data = Buffer.from(await response.arrayBuffer());
        if (!entry.file) return { text: data.toString("utf8"), encrypted: false };
        const fromB64 = (s) => Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
        const sha256 = createHash("sha256").update(data).digest("base64").replace(/=+$/, "");
        if (sha256 !== entry.file.hashes.sha256.replace(/=+$/, "")) throw new Error("attachment hash mismatch");
        const decipher = createDecipheriv("aes-256-ctr", fromB64(entry.file.key.k), fromB64(entry.file.iv));
        const plain = Buffer.concat([decipher.update(data), decipher.final()]);
        return { text: plain.toString("utf8"), encrypted: true };
    },

    async device_status(req) {
        const crypto = client.getCrypto();
        await crypto.getUserDeviceInfo([req.user_id], true); // fetch the newest keys first
        const status = await crypto.getDeviceVerificationStatus(req.user_id, req.device_id);
        if (status === null) return { status: null };
        return {
            status: {
                signedByOwner: status.signedByOwner,
                crossSigningVerified: status.crossSigningVerified,
                localVerified: status.localVerified,
                tofu: status.tofu,
                isVerified: status.isVerified(),
            },
        };
    },

    async stop() {
        client?.stopClient();
        setImmediate(() => process.exit(0));
        return {};
    },
};

function answer(payload) {
    process.stdout.write(JSON.stringify(payload) + "\n");
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
    let req;
    try {
        req = JSON.parse(line);
    } catch (e) {
        answer({ id: null, ok: false, error: `not JSON: ${e}` });
        return;
    }
    const op = ops[req.op];
    if (!op) {
        answer({ id: req.id, ok: false, error: `unknown op ${JSON.stringify(req.op)}` });
        return;
    }
    if (req.op !== "start" && client === null) {
        answer({ id: req.id, ok: false, error: "start first" });
        return;
    }
    op(req).then(
        (result) => answer({ id: req.id, ok: true, ...result }),
        // The message and where it came from, without the WebAssembly frames below them.
        (e) => answer({ id: req.id, ok: false, error: String(e?.stack ?? e).split("\n").slice(0, 4).join("\n") }),
    );
});
lines.on("close", () => {
    client?.stopClient();
    process.exit(0);
});
