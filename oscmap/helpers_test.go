package oscmap

import "time"

// wait is the generous deadline for anything to arrive over loopback.
const wait = 10 * time.Second
