// StaffAuth over a real SQLite store with a fake clock: password hashing, sign-in, the
// throttle, session expiry and sign-out.
#include "app/staff_auth.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/ledger.h"
#include "test_clock.h"

namespace smsconsent {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr char kPassword[] = "correct horse battery";

class StaffAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("smsconsent-auth-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto store = OpenStore((dir_ / "auth.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    Account a;
    a.name = "Acme";
    a.created_at_ms = clock_.NowMs();
    auto account = store_->CreateAccount(a, "");
    ASSERT_TRUE(account.ok()) << account.status().ToString();
    account_ = account->id;
    auth_ = std::make_unique<StaffAuth>(*store_, clock_);
    user_ = Add("Ann@Example.com", StaffRole::kEditor);
  }
  void TearDown() override {
    auth_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  User Add(const std::string& email, StaffRole role, const std::string& password = kPassword) {
    NewUser u;
    u.account_id = account_;
    u.email = email;
    u.name = "Ann";
    u.role = role;
    u.password = password;
    auto r = auth_->AddUser(u);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : User{};
  }
  SignedIn MustSignIn(const std::string& email = "ann@example.com",
                      const std::string& password = kPassword) {
    auto r = auth_->SignIn(email, password);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SignedIn{};
  }

  fs::path dir_;
  TestClock clock_{1'700'000'000'000};
  std::unique_ptr<ConsentStore> store_;
  std::unique_ptr<StaffAuth> auth_;
  int64_t account_ = 0;
  User user_;
};

TEST(PasswordHash, IsArgon2idWithTheConfiguredCostAndVerifies) {
  auto hash = HashPassword("correct horse battery");
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse batterY"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse battery"));
  // A fresh salt each time.
  EXPECT_NE(*hash, *HashPassword("correct horse battery"));
}

TEST(PasswordRules, LengthIsCheckedInCharactersAndBytes) {
  EXPECT_TRUE(CheckPasswordRules("twelve chars").ok());
  Status short_one = CheckPasswordRules("eleven char");
  EXPECT_EQ(short_one.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_one.message().find("at least 12 characters"), std::string::npos)
      << short_one.message();
  // 12 characters of two bytes each count as 12, not 24; 11 of them are too few.
  EXPECT_TRUE(CheckPasswordRules("ææææææææææææ").ok());
  EXPECT_FALSE(CheckPasswordRules("æææææææææææ").ok());
  EXPECT_TRUE(CheckPasswordRules(std::string(1024, 'x')).ok());
  Status long_one = CheckPasswordRules(std::string(1025, 'x'));
  EXPECT_EQ(long_one.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_one.message().find("at most 1024 bytes"), std::string::npos);
}

TEST(Tokens, AreRandomBase64UrlOf32Bytes) {
  const std::string a = RandomToken(), b = RandomToken();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_GE(GeneratePassword().size(), kMinPasswordChars);
}

TEST_F(StaffAuthTest, UsersAreStoredWithNormalisedEmailAndHashedPassword) {
  EXPECT_EQ(user_.email, "ann@example.com");
  EXPECT_NE(user_.password_hash.find("$argon2id$"), std::string::npos);
  EXPECT_EQ(user_.password_hash.find(kPassword), std::string::npos);
  NewUser dup;
  dup.account_id = account_;
  dup.email = " ANN@example.COM ";
  dup.password = kPassword;
  EXPECT_EQ(auth_->AddUser(dup).status().code(), StatusCode::kAlreadyExists);
  dup.email = "bob@example.com";
  dup.password = "too short";
  EXPECT_EQ(auth_->AddUser(dup).status().code(), StatusCode::kInvalidArgument);
  dup.email = "not an email";
  dup.password = kPassword;
  EXPECT_EQ(auth_->AddUser(dup).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StaffAuthTest, SignInStartsASessionThatAuthenticates) {
  SignedIn s = MustSignIn(" Ann@EXAMPLE.com");
  EXPECT_EQ(s.session_token.size(), 43u);
  EXPECT_EQ(s.session.csrf_token.size(), 43u);
  EXPECT_NE(s.session_token, s.session.csrf_token);
  EXPECT_EQ(s.user.id, user_.id);
  EXPECT_EQ(s.account.id, account_);
  EXPECT_EQ(s.session.expires_at_ms, clock_.NowMs() + 12 * kHour);
  // Only the token's hash is stored.
  EXPECT_EQ(store_->FindSession(s.session_token).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSession(Sha256Hex(s.session_token)).ok());
  auto who = auth_->Authenticate(s.session_token);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->user.email, "ann@example.com");
  EXPECT_EQ(who->user.role, StaffRole::kEditor);
  EXPECT_EQ(who->account.id, account_);
  EXPECT_EQ(who->session.csrf_token, s.session.csrf_token);
  EXPECT_EQ(auth_->Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->Authenticate(RandomToken()).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(StaffAuthTest, WrongPasswordAndUnknownEmailGetTheSameError) {
  auto wrong = auth_->SignIn("ann@example.com", "not the password");
  auto unknown = auth_->SignIn("nobody@example.com", kPassword);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
  EXPECT_EQ(auth_->SignIn("ann@example.com", std::string(5000, 'x')).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(StaffAuthTest, FiveFailuresLockTheEmailForFifteenMinutes) {
  for (int i = 0; i < 5; ++i) {
    if (i > 0) clock_.Advance(kMinute);
    EXPECT_EQ(auth_->SignIn("ann@example.com", "wrong password!").status().code(),
              StatusCode::kUnauthenticated)
        << "attempt " << i;
  }
  // Locked from the fifth failure on: even the right password is refused, unchecked.
  auto locked = auth_->SignIn("ANN@example.com", kPassword);
  EXPECT_EQ(locked.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(locked.status().message().find("try again in 15 minutes"), std::string::npos)
      << locked.status().message();
  // Another email is not affected.
  Add("bob@example.com", StaffRole::kViewer);
  MustSignIn("bob@example.com");
  clock_.Advance(15 * kMinute - 1);
  EXPECT_EQ(auth_->SignIn("ann@example.com", kPassword).status().code(),
            StatusCode::kResourceExhausted);
  clock_.Advance(1);
  MustSignIn();
}

TEST_F(StaffAuthTest, UnknownEmailsAreThrottledToo) {
  for (int i = 0; i < 5; ++i) (void)auth_->SignIn("nobody@example.com", kPassword);
  EXPECT_EQ(auth_->SignIn("nobody@example.com", kPassword).status().code(),
            StatusCode::kResourceExhausted);
}

TEST_F(StaffAuthTest, FailuresOutsideTheWindowDoNotCount) {
  for (int i = 0; i < 4; ++i) (void)auth_->SignIn("ann@example.com", "wrong password!");
  clock_.Advance(15 * kMinute);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(auth_->SignIn("ann@example.com", "wrong password!").status().code(),
              StatusCode::kUnauthenticated);
  }
  MustSignIn();
}

TEST_F(StaffAuthTest, ASuccessfulSignInClearsEarlierFailures) {
  for (int i = 0; i < 4; ++i) (void)auth_->SignIn("ann@example.com", "wrong password!");
  MustSignIn();
  for (int i = 0; i < 4; ++i) (void)auth_->SignIn("ann@example.com", "wrong password!");
  MustSignIn();
}

TEST_F(StaffAuthTest, IdleSessionsExpireAndUseSlidesTheExpiry) {
  SignedIn s = MustSignIn();
  clock_.Advance(11 * kHour);
  auto who = auth_->Authenticate(s.session_token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->session.expires_at_ms, clock_.NowMs() + 12 * kHour);  // slid
  clock_.Advance(12 * kHour - 1);
  EXPECT_TRUE(auth_->Authenticate(s.session_token).ok());
  clock_.Advance(12 * kHour);
  EXPECT_EQ(auth_->Authenticate(s.session_token).status().code(), StatusCode::kUnauthenticated);
  // An expired session is gone from the store.
  EXPECT_EQ(store_->FindSession(Sha256Hex(s.session_token)).status().code(), StatusCode::kNotFound);
}

TEST_F(StaffAuthTest, TheExpiryIsWrittenAtMostOnceAMinute) {
  SignedIn s = MustSignIn();
  clock_.Advance(30 * 1000);
  ASSERT_TRUE(auth_->Authenticate(s.session_token).ok());
  EXPECT_EQ(store_->FindSession(Sha256Hex(s.session_token))->last_seen_ms, s.session.last_seen_ms);
  clock_.Advance(30 * 1000);
  ASSERT_TRUE(auth_->Authenticate(s.session_token).ok());
  EXPECT_EQ(store_->FindSession(Sha256Hex(s.session_token))->last_seen_ms, clock_.NowMs());
}

TEST_F(StaffAuthTest, SessionsEndSevenDaysAfterSignInHoweverBusy) {
  SignedIn s = MustSignIn();
  for (int i = 0; i < 7 * 4; ++i) {
    clock_.Advance(6 * kHour);
    auto who = auth_->Authenticate(s.session_token);
    if (i < 7 * 4 - 1) {
      ASSERT_TRUE(who.ok()) << "after " << (i + 1) * 6 << " h";
      EXPECT_LE(who->session.expires_at_ms, s.session.created_at_ms + 7 * kDay);
    } else {
      EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
    }
  }
}

TEST_F(StaffAuthTest, SignOutEndsTheSession) {
  SignedIn s = MustSignIn();
  SignedIn other = MustSignIn();
  ASSERT_TRUE(auth_->SignOut(s.session_token).ok());
  EXPECT_EQ(auth_->Authenticate(s.session_token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(auth_->SignOut(s.session_token).ok());  // twice is fine
  EXPECT_TRUE(auth_->Authenticate(other.session_token).ok());
}

TEST_F(StaffAuthTest, ChangingThePasswordEndsTheOtherSessions) {
  SignedIn here = MustSignIn();
  SignedIn elsewhere = MustSignIn();
  EXPECT_EQ(
      auth_->ChangePassword(here.session_token, "wrong password!", "a new long password").code(),
      StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->ChangePassword(here.session_token, kPassword, "short").code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(auth_->ChangePassword(here.session_token, kPassword, "a new long password").ok());
  EXPECT_TRUE(auth_->Authenticate(here.session_token).ok());
  EXPECT_EQ(auth_->Authenticate(elsewhere.session_token).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->SignIn("ann@example.com", kPassword).status().code(),
            StatusCode::kUnauthenticated);
  MustSignIn("ann@example.com", "a new long password");
}

TEST_F(StaffAuthTest, UpdateUserChangesRoleNameAndPasswordAndEndsAllSessions) {
  SignedIn s = MustSignIn();
  UserUpdate u;
  u.role = StaffRole::kViewer;
  u.name = "Ann B.";
  int64_t ended = -1;
  auto updated = auth_->UpdateUser("ANN@example.com", u, &ended);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->role, StaffRole::kViewer);
  EXPECT_EQ(updated->name, "Ann B.");
  EXPECT_EQ(ended, 0);
  // The role applies to the running session at once.
  EXPECT_EQ(auth_->Authenticate(s.session_token)->user.role, StaffRole::kViewer);
  u = UserUpdate();
  u.password = "another long password";
  ASSERT_TRUE(auth_->UpdateUser("ann@example.com", u, &ended).ok());
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(auth_->Authenticate(s.session_token).status().code(), StatusCode::kUnauthenticated);
  u.password = "short";
  EXPECT_EQ(auth_->UpdateUser("ann@example.com", u).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->UpdateUser("nobody@example.com", u).status().code(), StatusCode::kNotFound);
}

TEST_F(StaffAuthTest, RemovedUsersSessionsEnd) {
  SignedIn s = MustSignIn();
  ASSERT_TRUE(auth_->RemoveUser("ann@example.com").ok());
  EXPECT_EQ(auth_->Authenticate(s.session_token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->RemoveUser("ann@example.com").code(), StatusCode::kNotFound);
  EXPECT_EQ(auth_->SignIn("ann@example.com", kPassword).status().code(),
            StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace smsconsent
