package codec

// HostileValues is hostileValues for the external tests of this directory
// (the manager's allocation bound).
var HostileValues = hostileValues

// AllocBytes is allocBytes, for the same tests.
var AllocBytes = allocBytes
