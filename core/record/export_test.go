package record

// HostileRecords is hostileRecords for the external tests of this
// directory (the manager's allocation bound).
var HostileRecords = hostileRecords

// AllocBytes is allocBytes, for the same tests.
var AllocBytes = allocBytes
