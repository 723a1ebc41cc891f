// Routes for exports and consent proofs (issue 4). Placeholder until they are built.
#include "http/api.h"

namespace smsconsent {

void Api::AddExportRoutes() {}

}  // namespace smsconsent
