// What a notification says: a deploy, an image update, and their failures told apart (the chaos
// run found a failed image update announced as a failed deploy of the live commit).
import { describe, expect, test } from "bun:test";
import { emptySummary } from "../../lib/base/summary.ts";
import { type NotifyEvent, notificationRequest, notificationText } from "../../lib/notify/index.ts";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const event = (e: Partial<NotifyEvent>): NotifyEvent => ({ event: "success", commit: SHA, projects: ["web"], summary: emptySummary(), durationMs: 1500, ...e });

describe("notification text", () => {
  test("a deploy and an image update", () => {
    expect(notificationText(event({}), "vps")).toBe("konta on vps: deployed 0123456789ab (web) in 1.5s");
    expect(notificationText(event({ images: ["reg/app:1"] }), "vps")).toBe("konta on vps: updated reg/app:1 at 0123456789ab (web) in 1.5s");
  });

  test("a failed deploy, and a failed image update of the live commit, which is not a failed deploy", () => {
    expect(notificationText(event({ event: "failure", error: "unhealthy" }), "vps")).toBe("konta on vps: deploy of 0123456789ab failed and was rolled back (web) in 1.5s: unhealthy");
    expect(notificationText(event({ event: "failure", images: ["reg/app:1"], error: "exited with code 127" }), "vps")).toBe(
      "konta on vps: update of reg/app:1 at 0123456789ab failed and was rolled back (web) in 1.5s: exited with code 127",
    );
  });

  test("the json format carries the images of a failed update", () => {
    const { body } = notificationRequest({ url: "http://127.0.0.1/", format: "json", timeout: 1 }, event({ event: "failure", images: ["reg/app:1"] }), "vps");
    expect(body).toMatchObject({ event: "failure", images: ["reg/app:1"], host: "vps" });
  });
});
