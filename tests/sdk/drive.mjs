// Drives the official OpenPanel JavaScript SDK, unchanged, against a trackflow
// ingress. Usage: node drive.mjs '<json config>'
//   {"apiUrl": ..., "clientId": ..., "clientSecret": ..., "offlineMinutes": 40, "profileId": "..."}
// Prints one JSON object: what the SDK got back and what it holds afterwards.
import { OpenPanel } from "@openpanel/sdk";

const config = JSON.parse(process.argv[2]);
const RealDate = Date;

// A fake clock for the "offline" part: the SDK stamps queued events with
// `new Date()`, so shifting Date back stands for events queued long ago.
function shiftClock(offsetMs) {
  globalThis.Date = class extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...args);
    }
    static now() {
      return RealDate.now() + offsetMs;
    }
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const op = new OpenPanel({
  clientId: config.clientId,
  clientSecret: config.clientSecret,
  apiUrl: config.apiUrl,
  disabled: true,
});

// Offline: three events queued `offlineMinutes` ago, one second apart.
const offlineMs = config.offlineMinutes * 60_000;
for (let i = 0; i < 3; i++) {
  shiftClock(-offlineMs + i * 1000);
  op.track("offline_screen", { __path: `https://app.example.com/offline/${i}`, step: i });
}
globalThis.Date = RealDate;
const queued = op.queue.map((item) => item.payload.properties.__timestamp);

// Back online: ready() flushes the queue (fire and forget inside the SDK).
op.ready();
await sleep(1500);

const responses = {};
responses.track = await op.track("screen_view", { __path: "https://app.example.com/home" });
responses.identify = await op.identify({
  profileId: config.profileId,
  firstName: "Ada",
  lastName: "Lovelace",
  email: "ada@example.com",
  properties: { plan: "pro" },
});
responses.increment = await op.increment({ profileId: config.profileId, property: "visits", value: 2 });
responses.increment2 = await op.increment({ profileId: config.profileId, property: "visits" });
responses.group = await op.upsertGroup({ id: "org-1", type: "company", name: "Acme", properties: { seats: 5 } });
responses.assignGroup = await op.setGroup("org-1");
responses.purchase = await op.track("purchase", { amount: 42 });

console.log(
  JSON.stringify({
    deviceId: op.getDeviceId(),
    sessionId: op.getSessionId(),
    queuedTimestamps: queued,
    responses,
  }),
);
