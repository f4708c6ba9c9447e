"""Common English words: what a piece of a split word must not all be for the pieces to be read
as one word (``wordfilter``: "guar antee" is read as "guarantee", "kick back" is not read as
"kickback"). Short function words, the usual words of business chat and the everyday words
that blocked terms are commonly made of ("pass word", "lay off", "pen is", "bit coin").

Lower case, ASCII; a word missing here only means that a split made of it and other pieces is
read as one word when that one word is a blocked term.
"""

from __future__ import annotations

_WORDS = """
a i am an as at be by do go he if in is it me my no of oh ok on or so to up us we ye
ah aw hi ha yo ya ex id tv pc uk eu re
all and any are art ask bad bag bar bat bay bed bee bet big bit box boy bus but buy can cap
car cat cow cry cup cut dad day did die dig dog dot dry due ear eat egg end era eve eye fan
far fat fee few fit fix fly for fox fun gap gas get god got gum guy had ham has hat her hey
him hip his hit hot how ice ill ink its jam jar job joy key kid kit lab lap law lay led leg
let lid lie lip lit log lot low mad man map may men met mix mob mom mud mug net new nil nor
not now nut odd off oil old one our out owe own pad pan par pat pay pea pen per pet pie pin
pit pop pot pro put ran rat raw red rib rid rip rob rod row rub run sad sat saw say sea see
set sew she shy sin sip sir sit six ski sky son spa spy sum sun tab tag tan tap tax tea tee
ten the tie tin tip toe ton too top toy try two use van via war was way web wet who why win
wit won yes yet you zip zoo
able also area army away back bank base bath bear beat been beer bell belt best bill bird
blow blue boat body bold bone book boot born boss both bowl burn busy cake call calm came
camp card care case cash cast cell chat chip city club coat code coin cold come cook cool
copy corn cost crew dark data date dead deal dear deep desk diet disk done door down draw
drop drug dual duty each earn ease east easy edge else even ever evil exam exit face fact
fail fair fall farm fast fear feed feel feet fell felt file fill film find fine fire firm
fish five flat flow food foot form four free from fuel full fund gain game gate gave gift
girl give glad goal goes gold golf gone good grab gray grew grey grow half hall hand hang
hard harm hate have head hear heat held hell help here hero high hill hire hold hole holy
home hope host hour huge hung hunt hurt idea into iron item join joke jump just keen keep
kept kick kill kind king knew know lack lady laid lake land lane last late lead lean left
lend less life lift like line link list live load loan lock long look lord lose loss lost
lots loud love luck made mail main make male mall many mark mass mate meal mean meat meet
menu mere mile milk mind mine miss mode mood moon more most move much must name near neck
need news next nice nine none norm nose note odds okay once only onto open over pace pack
page paid pain pair palm park part pass past path peak pick pile pink plan play plot plus
poem poet pool poor port pose post pour pull pure push race rail rain rank rare rate read
real rear rely rent rest rice rich ride ring rise risk road rock role roll roof room root
rope rose rule rush safe said sake sale salt same sand save seat seed seek seem seen self
sell send sent ship shop shot show shut sick side sign sing site size skin slip slow snow
soft soil sold sole some song soon sort soul spot star stay step stop such suit sure take
tale talk tall tank tape task team tell tend term test text than that them then they thin
this thus tide till time tiny told tone took tool tour town tree trip true tune turn twin
type unit upon used user vary vast very view vote wage wait wake walk wall want warm warn
wash wave weak wear week well went were west what when whom wide wife wild will wind wine
wing wire wise wish with wood word wore work yard yeah year your zero zone
about above after again agent agree ahead alarm album alert alike alive allow alone along
among angle angry apart apple apply april argue arise array aside asset audio avoid award
aware badly basic basis beach began begin being below bench birth black blame blank block
blood board brain brand bread break brief bring broad brown build built buyer cable carry
catch cause chain chair chart cheap check chest chief child claim class clean clear click
clock close coach coast could count court cover crash cream crime cross crowd cycle daily
dance dealt death delay depth doing doubt dozen draft drama drawn dream dress drink drive
early earth eight empty enemy enjoy enter entry equal error event every exact exist extra
faith false fault field fifth fifty fight final first floor focus force forth found frame
fresh front fruit fully funny giant given glass grand grant great green gross group guard
guess guest guide happy heart heavy hello hence horse hotel house human ideal image index
inner input issue joint judge known label large later laugh layer learn least leave legal
level light limit local logic loose lower lucky lunch major maker march match maybe mayor
media metal might minor minus mixed model money month moral motor mount mouse mouth movie
music never night noise north noted novel nurse occur ocean offer often order other ought
owner paint panel paper party peace phase phone photo piece pilot pitch place plain plane
plant plate point pound power press price pride prime print prior prize proof proud prove
queen quick quiet quite radio raise range rapid ratio reach ready refer relax reply right
river rough round route royal rural scale scene scope score sense serve seven shall shape
share sharp sheet shelf shell shift shirt shock shoot short sight since sixth skill sleep
slide small smart smile smoke solid solve sorry sound south space spare speak speed spend
spent split sport staff stage stand start state steam steel stick still stock stone stood
store storm story strip stuck study stuff style sugar suite super sweet table taken taste
teach teeth thank theme there these thick thing think third those three threw throw tight
title today total touch tough tower track trade train treat trend trial tried truck truly
trust truth twice under union until upper upset urban usage usual valid value video visit
vital voice waste watch water wheel where which while white whole whose woman women world
worry worse worst worth would write wrong wrote young yours youth
"""
COMMON_WORDS = frozenset(_WORDS.split())
