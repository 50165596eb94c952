/**
 * SEEDS 003: user management with event sourcing. A User aggregate records UserRegistered and
 * PasswordUpdated; UpdatePassword carries the version its sender saw (originalVersion), so of two
 * concurrent updates the stale one is rejected (optimistic concurrency).
 */
import type { BoardBuilder } from "./builder.ts";
import { described, payload } from "./builder.ts";

export function userRegistration(board: BoardBuilder): void {
  const identity = board.context("identity", "Identity", { color: "#7c3aed", description: "Who the users are and how they sign in." });

  const registerUser = board.command(
    identity,
    "register-user",
    "RegisterUser",
    payload({
      userId: "string",
      userName: "string",
      password: described("string", "Already hashed by the sign-up endpoint; never plain text."),
      email: "string",
    }),
    "Someone signs up.",
  );
  const updatePassword = board.command(
    identity,
    "update-password",
    "UpdatePassword",
    payload({
      userId: "string",
      newPassword: described("string", "Already hashed by the endpoint; never plain text."),
      originalVersion: described("integer", "The version of the user the sender last saw."),
    }),
    "A user changes their password.",
  );
  const userRegistered = board.event(
    identity,
    "user-registered",
    "UserRegistered",
    payload({ userId: "string", userName: "string", email: "string", passwordHash: "string", registeredAt: "date-time" }),
    { visibility: "public" },
  );
  const passwordUpdated = board.event(identity, "password-updated", "PasswordUpdated", payload({ userId: "string", passwordHash: "string", updatedAt: "date-time" }));

  const user = board.aggregate(identity, "user", "User", {
    description: "One stream per user; every change adds a version.",
    idExpression: "command.userId",
    expectedVersionField: "originalVersion",
    snapshotEvery: 50,
    state: [
      { name: "registered", type: "boolean", initial: false },
      { name: "userName", type: "string", initial: "" },
      { name: "email", type: "string", initial: "" },
      { name: "passwordHash", type: "string", initial: "" },
      { name: "passwordChanges", type: "integer", initial: 0 },
    ],
  });
  board
    .decide(user, registerUser, [
      { when: "state.registered", reject: "A user with this id is already registered." },
      { when: "$not($contains(command.email, /^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$/))", reject: "The email address is not valid." },
      { when: "$length(command.userName) < 3", reject: "User names have at least 3 characters." },
      {
        emit: [
          {
            event: userRegistered,
            mapping: {
              userId: "command.userId",
              userName: "$trim(command.userName)",
              email: "$lowercase(command.email)",
              passwordHash: "command.password",
              registeredAt: "$now()",
            },
          },
        ],
      },
    ])
    .decide(user, updatePassword, [
      { when: "$not(state.registered)", reject: "There is no such user." },
      { when: "command.newPassword = state.passwordHash", reject: "The new password must differ from the current one." },
      { emit: [{ event: passwordUpdated, mapping: { userId: "command.userId", passwordHash: "command.newPassword", updatedAt: "$now()" } }] },
    ])
    .evolve(user, userRegistered, { registered: "true", userName: "event.userName", email: "event.email", passwordHash: "event.passwordHash" })
    .evolve(user, passwordUpdated, { passwordHash: "event.passwordHash", passwordChanges: "state.passwordChanges + 1" });

  board.actor(null, "user-actor", "User", [registerUser, updatePassword], "The person signing up or changing their password.");

  board.readModel(identity, "user-directory", "UserDirectory", {
    description: "Who is registered, for the admin screen; served from the read side.",
    fields: [
      { name: "userId", type: "string" },
      { name: "userName", type: "string" },
      { name: "email", type: "string" },
      { name: "registeredAt", type: "date-time" },
      { name: "passwordUpdatedAt", type: "date-time" },
      { name: "passwordChanges", type: "integer", initial: 0 },
    ],
    updates: [
      {
        event: userRegistered,
        key: "event.userId",
        set: { userId: "event.userId", userName: "event.userName", email: "event.email", registeredAt: "event.registeredAt", passwordChanges: "0" },
      },
      { event: passwordUpdated, key: "event.userId", set: { passwordUpdatedAt: "event.updatedAt", passwordChanges: "view.passwordChanges + 1" } },
    ],
  });
}
