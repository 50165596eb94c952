/** What the crash and competing-worker children run: the insurance template, instances numbered 0..N-1. */
export const CRASH_BOARD = "crash-quotes";

export function crashApplication(index: number) {
  return {
    applicationId: `APP-${index}`,
    applicant: { firstName: "Ada", lastName: `Tester${index}`, dateOfBirth: "1815-12-10", postcode: "W1" },
    coverage: { product: ["home", "motor", "life"][index % 3]!, sumInsured: 50_000 + index * 1000, deductible: 500, startDate: "2027-01-01T00:00:00.000Z" },
    submittedAt: "2026-11-23T10:00:00.000Z",
  };
}

