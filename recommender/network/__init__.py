"""The network of houses: referrals between houses (`referrals`) and the operator's view of
demand and supply across the network (`summary`, `charts`)."""
