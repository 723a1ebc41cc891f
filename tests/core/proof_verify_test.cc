// Proof and consistency documents checked by the C++ verifier and, independently, by
// tests/ledger/verify_proof.py: both must accept the honest documents and reject each forgery.
#include "core/proof_verify.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/ledger.h"
#include "core/merkle.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kPvAccount = 7;
constexpr int64_t kPvContact = 2;
constexpr char kPvPhone[] = "+4520123456";
const std::string kPvBatchText = R"({"type":"attestation","attested_express_consent":true})";

// An account's ledger of `n` events: seq 1-4 chain events (format 1), the rest tree-only
// (format 2); contact 2 owns every odd seq, contact 5 the even ones; seq 7 belongs to a batch.
std::vector<ConsentEvent> PvLedger(int n) {
  std::vector<ConsentEvent> out;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    ConsentEvent e;
    e.account_id = kPvAccount;
    e.seq = i;
    e.contact_id = i % 2 == 1 ? kPvContact : 5;
    e.phone = i % 2 == 1 ? kPvPhone : "+4520999999";
    e.number_id = 3;
    e.sender = "12345";
    e.from = i <= 2 ? SubscriptionStatus::kNotSpecified : SubscriptionStatus::kOptedIn;
    e.to = i % 3 == 0 ? SubscriptionStatus::kOptedOut : SubscriptionStatus::kOptedIn;
    e.source = i == 7 ? Source::kBulk : Source::kKeyword;
    e.actor = i == 7 ? "user:alice" : "contact";
    e.at_ms = 1764381941123 + i * 1000;
    e.evidence = R"({"type":"keyword","body":"START \"quoted\"\nline two: ü"})";
    e.nth = (i + 1) / 2;  // each contact's events on number 3: 1, 2, 3, ...
    if (i <= 4) {
      e.format = 1;
      e.prev_hash = prev;
      e.hash = ComputeEventHash(e);
      prev = e.hash;
    } else {
      e.format = 2;
      if (i == 7) {
        e.evidence = R"({"type":"bulk","row":1})";
        e.batch_hash = Sha256Hex(kPvBatchText);
      }
    }
    out.push_back(e);
  }
  return out;
}

std::vector<merkle::Hash> PvLeaves(const std::vector<ConsentEvent>& events) {
  std::vector<merkle::Hash> out;
  for (const ConsentEvent& e : events) out.push_back(EventLeafHash(e));
  return out;
}

json PvHashes(const std::vector<merkle::Hash>& hs) {
  json out = json::array();
  for (const merkle::Hash& h : hs) out.push_back(merkle::ToHex(h));
  return out;
}

SignedTreeHead PvHead(const SigningKey& key, const std::vector<ConsentEvent>& events,
                      int64_t size) {
  const std::vector<merkle::Hash> leaves = PvLeaves(events);
  const std::vector<merkle::Hash> first(leaves.begin(), leaves.begin() + size);
  return key.Sign(TreeHead{kPvAccount, size, merkle::RootOf(first), 1764390000000 + size});
}

// The contact's proof: its events among `events`, with inclusion proofs in the tree of all
// of `events`, against `head`.
json PvProof(const std::vector<ConsentEvent>& events, const SignedTreeHead& head) {
  const std::vector<merkle::Hash> leaves = PvLeaves(events);
  const std::vector<merkle::Hash> tree(leaves.begin(), leaves.begin() + head.head.size);
  json doc = {{"format", "smsconsent-proof-v2"},
              {"account", kPvAccount},
              {"contact", {{"id", kPvContact}, {"phone", kPvPhone}, {"name", "ignored"}}},
              {"tree_head", SignedTreeHeadToJson(head)},
              {"events", json::array()},
              {"batches", json::object()},
              {"generated_by", "a member verifiers ignore"}};
  for (const ConsentEvent& e : events) {
    if (e.contact_id != kPvContact || e.seq > head.head.size) continue;
    auto path = merkle::InclusionProof(e.seq - 1, head.head.size, merkle::SourceFromLeaves(tree));
    EXPECT_TRUE(path.ok());
    doc["events"].push_back({{"seq", e.seq},
                             {"format", e.format},
                             {"encoding", LeafData(e)},
                             {"inclusion", PvHashes(*path)},
                             {"description", "ignored too"}});
    if (!e.batch_hash.empty()) doc["batches"][e.batch_hash] = kPvBatchText;
  }
  return doc;
}

json PvConsistency(const SignedTreeHead& from, const SignedTreeHead& to,
                   const std::vector<ConsentEvent>& events) {
  const std::vector<merkle::Hash> leaves = PvLeaves(events);
  auto proof =
      merkle::ConsistencyProof(from.head.size, to.head.size, merkle::SourceFromLeaves(leaves));
  EXPECT_TRUE(proof.ok());
  return {{"format", "smsconsent-consistency-v1"},
          {"account", kPvAccount},
          {"from", SignedTreeHeadToJson(from)},
          {"to", SignedTreeHeadToJson(to)},
          {"proof", PvHashes(proof.ok() ? *proof : std::vector<merkle::Hash>{})}};
}

std::string PvProblems(const ProofCheck& c) {
  std::string out;
  for (const std::string& p : c.problems) out += p + "\n";
  return out;
}

bool PvMentions(const ProofCheck& c, const std::string& text) {
  for (const std::string& p : c.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

class ProofDocumentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    key_ = std::make_unique<SigningKey>(std::move(key).value());
    auto other = SigningKey::Generate();
    ASSERT_TRUE(other.ok());
    other_ = std::make_unique<SigningKey>(std::move(other).value());
    events_ = PvLedger(9);
    head_ = PvHead(*key_, events_, 9);
    proof_ = PvProof(events_, head_);
  }

  // Records a document for the Python verifier with the outcome the C++ verifier gave it.
  void Expect(const std::string& name, const json& doc, bool is_proof, bool valid) {
    const ProofCheck c = is_proof ? VerifyProofDocument(doc, key_->PublicKeyRaw())
                                  : VerifyConsistencyDocument(doc, key_->PublicKeyRaw());
    EXPECT_EQ(c.ok, valid) << name << ":\n" << PvProblems(c);
    if (valid) {
      EXPECT_TRUE(c.problems.empty()) << name;
    }
    cases_.push_back({name, doc, is_proof, valid});
  }

  struct Case {
    std::string name;
    json doc;
    bool is_proof;
    bool valid;
  };
  std::unique_ptr<SigningKey> key_, other_;
  std::vector<ConsentEvent> events_;
  SignedTreeHead head_;
  json proof_;
  std::vector<Case> cases_;
};

TEST_F(ProofDocumentTest, HonestProofIsAccepted) {
  const ProofCheck c = VerifyProofDocument(proof_, key_->PublicKeyRaw());
  EXPECT_TRUE(c.ok) << PvProblems(c);
  EXPECT_EQ(c.events_checked, 5);  // seq 1, 3, 5, 7, 9
  ASSERT_EQ(proof_["events"].size(), 5u);
  EXPECT_EQ(proof_["events"][0]["format"], 1);
  EXPECT_EQ(proof_["events"][3]["format"], 2);
  EXPECT_EQ(proof_["batches"].size(), 1u);
}

TEST_F(ProofDocumentTest, ForgeriesAreRejectedWithTheReason) {
  {
    json doc = proof_;
    std::string enc = doc["events"][1]["encoding"];
    enc[enc.find("opted_out")] = 'O';  // seq 3's new status
    doc["events"][1]["encoding"] = enc;
    const ProofCheck c = VerifyProofDocument(doc, key_->PublicKeyRaw());
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(PvMentions(c, "event seq 3: inclusion proof")) << PvProblems(c);
    EXPECT_EQ(c.events_checked, 4);
  }
  {
    // The event of seq 3 deleted from the ledger and the rest renumbered: proofs from the
    // rewritten tree do not lead to the head the contact kept.
    std::vector<ConsentEvent> rewritten = PvLedger(10);
    rewritten.erase(rewritten.begin() + 2);
    for (size_t i = 0; i < rewritten.size(); ++i) rewritten[i].seq = static_cast<int64_t>(i) + 1;
    json doc = PvProof(rewritten, PvHead(*key_, rewritten, 9));
    doc["tree_head"] = SignedTreeHeadToJson(head_);
    const ProofCheck c = VerifyProofDocument(doc, key_->PublicKeyRaw());
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(PvMentions(c, "inclusion proof does not lead")) << PvProblems(c);
  }
  {
    json doc = proof_;
    doc["events"][2]["seq"] = 4;  // seq 5's event shown as seq 4
    const ProofCheck c = VerifyProofDocument(doc, key_->PublicKeyRaw());
    EXPECT_TRUE(PvMentions(c, "event seq 4: the encoding says seq 5")) << PvProblems(c);
  }
  {
    // Contact 5's event (seq 2) with a valid inclusion proof is not this contact's.
    const std::vector<merkle::Hash> leaves = PvLeaves(events_);
    json doc = proof_;
    doc["events"].insert(doc["events"].begin() + 1,
                         json{{"seq", 2},
                              {"format", 1},
                              {"encoding", LeafData(events_[1])},
                              {"inclusion", PvHashes(*merkle::InclusionProof(
                                                1, 9, merkle::SourceFromLeaves(leaves)))}});
    const ProofCheck c = VerifyProofDocument(doc, key_->PublicKeyRaw());
    EXPECT_TRUE(PvMentions(c, "event seq 2: contact 5 is not the document's contact"))
        << PvProblems(c);
    EXPECT_TRUE(PvMentions(c, "event seq 2: phone")) << PvProblems(c);
    EXPECT_EQ(c.events_checked, 5);
  }
  {
    json doc = PvProof(events_, other_->Sign(head_.head));
    EXPECT_TRUE(PvMentions(VerifyProofDocument(doc, key_->PublicKeyRaw()), "key_id"));
    doc["tree_head"]["key_id"] = key_->KeyId();
    EXPECT_TRUE(
        PvMentions(VerifyProofDocument(doc, key_->PublicKeyRaw()), "signature does not verify"));
  }
  {
    json doc = proof_;
    std::string root = doc["tree_head"]["root"];
    root[0] = root[0] == 'a' ? 'b' : 'a';
    doc["tree_head"]["root"] = root;
    const ProofCheck c = VerifyProofDocument(doc, key_->PublicKeyRaw());
    EXPECT_TRUE(PvMentions(c, "tree head: the signature does not verify")) << PvProblems(c);
  }
  {
    json doc = proof_;
    doc["batches"][Sha256Hex(kPvBatchText)] = kPvBatchText + " ";
    EXPECT_TRUE(PvMentions(VerifyProofDocument(doc, key_->PublicKeyRaw()), "batch "));
    doc["batches"] = json::object();
    EXPECT_TRUE(
        PvMentions(VerifyProofDocument(doc, key_->PublicKeyRaw()), "event seq 7: batch document"));
  }
}

TEST_F(ProofDocumentTest, MalformedEncodingsAreRejected) {
  const std::string good = proof_["events"][0]["encoding"];
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"trailing", good + "x"},
      {"missing field", good.substr(0, good.find("prev:"))},
      {"extra field", good + "batch:0:\n"},
      {"leading zero",
       [&] {
         std::string s = good;
         s.replace(s.find("seq:1:"), 6, "seq:01:");
         return s;
       }()},
      {"short length",
       [&] {
         std::string s = good;
         s.replace(s.find("phone:11:"), 9, "phone:10:");
         return s;
       }()},
      {"reordered",
       [&] {
         std::string s = good;
         const std::string a = "contact:1:2\n", b = "seq:1:1\n";
         s.replace(s.find(b), b.size(), a);
         s.replace(s.rfind(a), a.size(), b);
         return s;
       }()},
      {"other version", "smsconsent-ledger-v3\n" + good.substr(21)},
  };
  for (const auto& [name, enc] : bad) {
    json doc = proof_;
    doc["events"][0]["encoding"] = enc;
    const ProofCheck c = VerifyProofDocument(doc, key_->PublicKeyRaw());
    EXPECT_FALSE(c.ok) << name;
    EXPECT_TRUE(PvMentions(c, "event seq 1:")) << name << "\n" << PvProblems(c);
  }
}

TEST_F(ProofDocumentTest, BothVerifiersAgree) {
  Expect("honest", proof_, true, true);
  {
    // Each pair's events are numbered (nth): an event left out before the pair's last one
    // shows (docs/ledger.md says so); the newest ones left out do not.
    json doc = proof_;
    doc["events"].erase(3);  // seq 7, the contact's fourth event on number 3
    Expect("an event left out", doc, true, false);
    json newest = proof_;
    newest["events"].erase(newest["events"].size() - 1);
    Expect("the newest event left out", newest, true, true);
  }
  {
    json doc = proof_;
    std::string enc = doc["events"][1]["encoding"];
    enc[enc.find("opted_out")] = 'O';
    doc["events"][1]["encoding"] = enc;
    Expect("changed byte", doc, true, false);
  }
  {
    std::vector<ConsentEvent> rewritten = PvLedger(10);
    rewritten.erase(rewritten.begin() + 2);
    for (size_t i = 0; i < rewritten.size(); ++i) rewritten[i].seq = static_cast<int64_t>(i) + 1;
    json doc = PvProof(rewritten, PvHead(*key_, rewritten, 9));
    doc["tree_head"] = SignedTreeHeadToJson(head_);
    Expect("event removed from the ledger", doc, true, false);
  }
  {
    json doc = proof_;
    doc["events"][2]["seq"] = 4;
    Expect("seq changed", doc, true, false);
  }
  {
    json doc = proof_;
    std::swap(doc["events"][1], doc["events"][2]);
    Expect("events out of order", doc, true, false);
  }
  {
    const std::vector<merkle::Hash> leaves = PvLeaves(events_);
    json doc = proof_;
    doc["events"].insert(doc["events"].begin() + 1,
                         json{{"seq", 2},
                              {"format", 1},
                              {"encoding", LeafData(events_[1])},
                              {"inclusion", PvHashes(*merkle::InclusionProof(
                                                1, 9, merkle::SourceFromLeaves(leaves)))}});
    Expect("another contact's event", doc, true, false);
  }
  {
    json doc = proof_;
    doc["contact"]["id"] = 3;  // the same events claimed for another contact
    Expect("another contact id", doc, true, false);
  }
  {
    json doc = proof_;
    doc["contact"]["phone"] = "+4520999999";
    Expect("another phone", doc, true, false);
  }
  {
    json doc = proof_;
    doc["tree_head"]["key_id"] = other_->KeyId();  // our signature, another key named
    Expect("key_id of another key", doc, true, false);
  }
  Expect("signed by another key", PvProof(events_, other_->Sign(head_.head)), true, false);
  {
    json doc = PvProof(events_, other_->Sign(head_.head));
    doc["tree_head"]["key_id"] = key_->KeyId();
    Expect("signed by another key, our key_id", doc, true, false);
  }
  {
    json doc = proof_;
    std::string root = doc["tree_head"]["root"];
    root[0] = root[0] == 'a' ? 'b' : 'a';
    doc["tree_head"]["root"] = root;
    Expect("changed root", doc, true, false);
  }
  {
    json doc = proof_;
    doc["tree_head"]["account"] = 8;
    Expect("head of another account", doc, true, false);
  }
  {
    json doc = proof_;
    doc["batches"][Sha256Hex(kPvBatchText)] = kPvBatchText + " ";
    Expect("wrong batch document", doc, true, false);
  }
  {
    json doc = proof_;
    doc["batches"] = json::object();
    Expect("missing batch document", doc, true, false);
  }
  {
    json doc = proof_;
    doc["events"][0]["encoding"] = doc["events"][0]["encoding"].get<std::string>() + "x";
    Expect("trailing bytes", doc, true, false);
  }
  {
    json doc = proof_;
    doc["events"][0]["inclusion"].erase(0);
    Expect("inclusion node dropped", doc, true, false);
  }

  // Consistency: the head the contact kept at size 5, then an honest append to 9, and a
  // ledger whose tail (seq 4) was rewritten before growing to 9.
  const SignedTreeHead old_head = PvHead(*key_, events_, 5);
  Expect("consistency honest append", PvConsistency(old_head, head_, events_), false, true);
  Expect("consistency same size", PvConsistency(head_, head_, events_), false, true);
  {
    std::vector<ConsentEvent> rewritten = events_;
    rewritten[3].evidence = R"({"type":"keyword","body":"STOP"})";
    rewritten[3].hash = ComputeEventHash(rewritten[3]);
    const SignedTreeHead new_head = PvHead(*key_, rewritten, 9);
    Expect("consistency rewritten tail", PvConsistency(old_head, new_head, rewritten), false,
           false);
  }
  {
    json doc = PvConsistency(old_head, head_, events_);
    std::swap(doc["from"], doc["to"]);
    Expect("consistency sizes swapped", doc, false, false);
  }
  {
    json doc = PvConsistency(old_head, head_, events_);
    doc["to"] = SignedTreeHeadToJson(other_->Sign(head_.head));
    Expect("consistency head signed by another key", doc, false, false);
  }

  // The same documents through the Python verifier.
  if (std::system("python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' "
                  ">/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with the cryptography package is not installed: "
                    "tests/ledger/verify_proof.py not run";
  }
  const fs::path dir =
      fs::temp_directory_path() / ("smsconsent-proof-verify-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string script = std::string(SMSCONSENT_SOURCE_DIR) + "/tests/ledger/verify_proof.py";
  const std::string key_b64 = base64::Encode(key_->PublicKeyRaw());
  {
    std::ofstream pem(dir / "ledger-key.pub");
    pem << PublicKeyPem(key_->PublicKeyRaw());
  }
  int n = 0;
  for (const Case& c : cases_) {
    const fs::path file = dir / ("doc" + std::to_string(++n) + ".json");
    std::ofstream(file) << c.doc.dump(2);
    // Every other document with the key as a PEM file.
    const std::string key_arg = n % 2 == 0 ? (dir / "ledger-key.pub").string() : key_b64;
    const fs::path out = dir / ("doc" + std::to_string(n) + ".out");
    const std::string cmd = "python3 '" + script + "' " + (c.is_proof ? "proof" : "consistency") +
                            " '" + file.string() + "' --public-key '" + key_arg + "' >'" +
                            out.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << c.name;
    std::ifstream in(out);
    const std::string output((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    EXPECT_EQ(WEXITSTATUS(status), c.valid ? 0 : 1) << c.name << ":\n" << output;
    if (c.valid && c.is_proof) {
      EXPECT_EQ(output, "ok: " + std::to_string(c.doc["events"].size()) + " events\n") << c.name;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace smsconsent
