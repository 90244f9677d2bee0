"""Data sources for both tasks: gender folders/CSVs, identity folders, pairs, torch datasets."""
from .errors import DataError
from .gender import GenderData, Item, load_gender_sources, read_label_csv
from .identity import Identity, check_identities, discover_identities, read_identity_list, split_identities
from .pairs import Pair, make_pairs, read_pairs_csv
from .split import group_split

__all__ = [
    "DataError", "GenderData", "Item", "load_gender_sources", "read_label_csv", "Identity",
    "check_identities", "discover_identities", "read_identity_list", "split_identities", "Pair",
    "make_pairs", "read_pairs_csv", "group_split",
]
