package session

import (
	"errors"

	"github.com/sessiongo/sdk/swarm"
)

// applied reads the outcome of a storage request that changes messages (delete, delete_all,
// expire) for a caller that needs the change done, not the lists of what it changed. When a
// member failed after it may have applied the request and a later member then answered, the
// swarm client returns a *swarm.UncertainError whose Later is that answer: the change reached
// the swarm (the later member ran it, and replicates it), only the lists leave out what the
// first attempt already did. That is success here, with Later as the result.
func applied(res *swarm.SwarmResult, err error) (*swarm.SwarmResult, error) {
	var ue *swarm.UncertainError
	if errors.As(err, &ue) && ue.Later != nil && ue.Later.Succeeded() > 0 {
		return ue.Later, nil
	}
	return res, err
}
